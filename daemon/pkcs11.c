// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <p11-kit/p11-kit.h>

#include "log.h"
#include "pkcs11.h"

/* Writer-preferring: a steady stream of handshakes cannot hold a reload off. */
static pthread_rwlock_t module_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;

void pkcs11_enter(void)
{
	pthread_rwlock_rdlock(&module_lock);
}

void pkcs11_leave(void)
{
	pthread_rwlock_unlock(&module_lock);
}

/* The same modules GnuTLS loaded (p11-kit's configuration), unwrapped: finalizing them through
 * p11-kit's managed wrappers would not reach the module while GnuTLS's wrapper holds it. */
static int reinit_locked(void)
{
	CK_FUNCTION_LIST **mods = p11_kit_modules_load(NULL, P11_KIT_MODULE_UNMANAGED);
	int rc = 0;

	if (!mods) {
		log_err("pkcs11: cannot load the PKCS#11 modules again: %s", p11_kit_message());
		return -EIO;
	}
	for (CK_FUNCTION_LIST **m = mods; *m; m++) {
		char *name = p11_kit_module_get_name(*m);
		CK_RV rv;

		p11_kit_module_finalize(*m);
		rv = p11_kit_module_initialize(*m);
		if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
			log_err("pkcs11: module %s does not initialize again: %s",
				name ? name : "?", p11_kit_strerror(rv));
			rc = -EIO;
		}
		free(name);
	}
	p11_kit_modules_release(mods);
	return rc;
}

int pkcs11_reinit(void)
{
	int rc;

	pthread_rwlock_wrlock(&module_lock);
	rc = reinit_locked();
	pthread_rwlock_unlock(&module_lock);
	if (rc == 0)
		log_notice("pkcs11: modules initialized again (a token key could not be loaded)");
	return rc;
}
