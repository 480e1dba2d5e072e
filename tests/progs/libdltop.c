/* libdltop.c - the module dldep.c dlopens and dlcloses: it needs libdldep.so (linked
 * with rpath $ORIGIN), which comes and goes with it (t_dlclose_dep.sh). Built as
 * tests/progs/bin/libdltop.so. */
void *dldep_block(void);

void *dltop_block(void) { return dldep_block(); }
