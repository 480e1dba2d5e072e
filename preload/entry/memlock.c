/* memlock.c - the wrapper of mlockall(2): the program's memory is locked, the
 * profiler's is not, and the call succeeds or fails as it would without the profiler
 * (ownmem.h says how). munlockall, mlock, mlock2 and munlock are not wrapped: they act
 * on the program's ranges, or unlock, and the profiler's memory is never locked. */
#include "interpose.h"
#include "ownmem.h"

#include <stddef.h>
#include <sys/mman.h>

LIBC_SLOT(real_mlockall, mlockall, NULL);
LIBC_SLOT(real_munlockall, munlockall, NULL);

EXPORT int mlockall(int flags)
{
	NEXT(real_mlockall);
	__typeof__(real_munlockall) unlock = __atomic_load_n(&real_munlockall, __ATOMIC_RELAXED);
	if (!unlock)
		unlock = (__typeof__(real_munlockall))rtcheck_resolve(&real_munlockall_slot);
	return ownmem_mlockall(flags, next, unlock);
}
