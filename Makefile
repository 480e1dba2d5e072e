# Makefile - top level of audioprof: delegates to the parts.
#
#   make                 build preload/libaudioprof.so, analyzer/audioprof, test programs
#   make check           install missing packages, build, run all tests; ends with
#                        "check: N passed, N failed"
#   make demo            install missing packages, build, profile a small program
#   make bench           allocation benchmark: native vs audioprof vs heaptrack vs DHAT
#   make install         PREFIX=/usr/local, DESTDIR= for staging
#   make clean
#
# Variables: SANITIZE=address|undefined|thread (analyzer and unit tests only, never the
# preloaded library or the programs that run under it), WERROR=-Werror (CI),
# SKIP_DEPS=1 (do not run scripts/install-deps.sh).

PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   ?= $(PREFIX)/bin
LIBDIR   ?= $(PREFIX)/lib
INCDIR   ?= $(PREFIX)/include
MANDIR   ?= $(PREFIX)/share/man
SANITIZE ?=
WERROR   ?=
SKIP_DEPS ?=
INSTALL  ?= install

DEPS = $(if $(SKIP_DEPS),@true,scripts/install-deps.sh)

all: preload analyzer progs dsp_demo

preload:
	$(MAKE) -C preload WERROR=$(WERROR) SANITIZE=

analyzer:
	$(MAKE) -C analyzer WERROR=$(WERROR) SANITIZE=$(SANITIZE)

progs: preload
	$(MAKE) -C tests WERROR=$(WERROR) SANITIZE= progs

# The bundled workload; it runs under the preload, so never with SANITIZE.
dsp_demo:
	$(MAKE) -C dsp_demo WERROR=$(WERROR)

check:
	$(DEPS)
	$(MAKE) all
	@$(MAKE) --no-print-directory -C tests WERROR=$(WERROR) SANITIZE=$(SANITIZE) check

# The README's first command: profile dsp_demo clean and with an injected allocation
# in its callback, and show both reports.
demo:
	@$(DEPS)
	@$(MAKE) -s --no-print-directory all
	@dsp_demo/demo.sh

bench: all
	@if [ -f bench/Makefile ]; then $(MAKE) -C bench; \
	else echo "bench: no bench/Makefile yet"; exit 1; fi

install: preload analyzer dsp_demo
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/audioprof \
	              $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	$(INSTALL) -m 755 analyzer/audioprof $(DESTDIR)$(BINDIR)/audioprof
	$(INSTALL) -m 755 dsp_demo/dsp_demo $(DESTDIR)$(BINDIR)/dsp_demo
	$(INSTALL) -m 644 preload/libaudioprof.so $(DESTDIR)$(LIBDIR)/audioprof/libaudioprof.so
	@if [ -f preload/audioprof.h ]; then \
		echo "$(INSTALL) -m 644 preload/audioprof.h $(DESTDIR)$(INCDIR)/audioprof.h"; \
		$(INSTALL) -d $(DESTDIR)$(INCDIR) && \
		$(INSTALL) -m 644 preload/audioprof.h $(DESTDIR)$(INCDIR)/audioprof.h; fi
	@set -e; for page in man/*.[1-8]; do \
		[ -f "$$page" ] || continue; \
		sec=$${page##*.}; \
		echo "$(INSTALL) -m 644 $$page $(DESTDIR)$(MANDIR)/man$$sec/"; \
		$(INSTALL) -d $(DESTDIR)$(MANDIR)/man$$sec; \
		$(INSTALL) -m 644 $$page $(DESTDIR)$(MANDIR)/man$$sec/; done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/audioprof $(DESTDIR)$(BINDIR)/dsp_demo $(DESTDIR)$(INCDIR)/audioprof.h
	rm -rf $(DESTDIR)$(LIBDIR)/audioprof
	@for page in man/*.[1-8]; do [ -f "$$page" ] || continue; \
		rm -f $(DESTDIR)$(MANDIR)/man$${page##*.}/$${page##*/}; done

clean:
	$(MAKE) -C preload clean
	$(MAKE) -C analyzer clean
	$(MAKE) -C tests clean
	@for d in bench dsp_demo; do \
		if [ -f $$d/Makefile ]; then $(MAKE) -C $$d clean; fi; done

.PHONY: all preload analyzer progs dsp_demo check demo bench install uninstall clean
