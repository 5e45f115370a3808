// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A link-time shim, to be deleted: user/lib/marathon_model.c and
 * user/lib/dp.c both define xlb_vip_key_str, so no binary can link both
 * archive members, and xlbd needs both. Compiling the model into xlbd itself
 * with that one symbol renamed defines every other model symbol here, so the
 * linker never pulls marathon_model.o from libxlb.a and the clash is gone.
 * Once marathon_model.c stops defining xlb_vip_key_str, remove this file.
 */
#define xlb_vip_key_str xlbd_shim_mara_vip_key_str
#include "../lib/marathon_model.c"
