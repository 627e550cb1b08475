/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_PKCS11_H
#define KTUN_PKCS11_H

/* PKCS#11 modules brought back after a token went away. A module that lost its token (SoftHSM2
 * whose store was removed, an HSM that was unplugged) may keep saying so after it is back,
 * until it is finalized and initialized again; GnuTLS only does that after a fork. A reload
 * that cannot load a token key it loaded before re-initializes the modules and tries again.
 *
 * C_Finalize must not run while another thread is inside the module: workers hold the read
 * side of a lock around each handshake step of a tunnel with a token key (the only place they
 * call into a module), the main thread the write side while it re-initializes. The modules'
 * function lists stay loaded, so a key loaded before only gets an error (its session is gone). */

void pkcs11_enter(void);
void pkcs11_leave(void);
/* Main thread. Returns 0 if every module initialized again, else a negative errno (logged). */
int pkcs11_reinit(void);

#endif
