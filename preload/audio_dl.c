/* audio_dl.c - placeholder: the dlsym hook and audio_real() (issue 3). */
#include "audio.h"

#include <dlfcn.h>

void *audio_real(void **slot, const char *name)
{
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (!p) {
		p = dlsym(RTLD_NEXT, name);
		__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	}
	return p;
}
