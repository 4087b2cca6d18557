/* Allocation sites as file:line. libdw (elfutils) reads the DWARF line tables
 * of the process's modules; it is dlopened on the first site printed, so the
 * layer neither links it nor pays for it until a report, and a machine
 * without it prints sites in backtrace_symbols_fd's form. The module list is
 * read again when a site lies in none of the modules known (a later dlopen).
 * Each line is one write(2): other threads print to the same file meanwhile
 * (a program's stdout sharing stderr's file), and a line written in pieces
 * can have theirs in the middle. */

#define _GNU_SOURCE   /* dladdr */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "check_site.h"

/* line: snprintf's n into a buffer of size bytes; a cut line still ends the line. */
static void write_line(char *line, int n, size_t size) {
	if (n <= 0)
		return;
	if ((size_t)n >= size) {
		n = (int)size - 1;
		line[n - 1] = '\n';
	}
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

#ifdef SKYNET_MEM_HAVE_LIBDW   /* built where libdw's header was found */
#include <elfutils/libdwfl.h>

static struct {
	int tried;   /* 0: not yet; then 1 loaded, -1 not available */
	Dwfl *dwfl;
	Dwfl_Callbacks callbacks;
	char *debuginfo_path;
	Dwfl *(*begin)(const Dwfl_Callbacks *);
	void (*report_begin)(Dwfl *);
	int (*proc_report)(Dwfl *, pid_t);
	int (*report_end)(Dwfl *, void *, void *);
	Dwfl_Module *(*addrmodule)(Dwfl *, Dwarf_Addr);
	Dwfl_Line *(*getsrc)(Dwfl_Module *, Dwarf_Addr);
	const char *(*lineinfo)(Dwfl_Line *, Dwarf_Addr *, int *, int *, Dwarf_Word *, Dwarf_Word *);
	const char *(*addrname)(Dwfl_Module *, GElf_Addr);
} dw;

#define FIND(field, name) (*(void **)&dw.field = dlsym(lib, name)) != NULL

static int load(void) {
	void *lib = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL)
		return -1;
	int ok = FIND(begin, "dwfl_begin") && FIND(report_begin, "dwfl_report_begin") &&
		FIND(proc_report, "dwfl_linux_proc_report") && FIND(report_end, "dwfl_report_end") &&
		FIND(addrmodule, "dwfl_addrmodule") && FIND(getsrc, "dwfl_module_getsrc") &&
		FIND(lineinfo, "dwfl_lineinfo") && FIND(addrname, "dwfl_module_addrname") &&
		FIND(callbacks.find_elf, "dwfl_linux_proc_find_elf") &&
		FIND(callbacks.find_debuginfo, "dwfl_standard_find_debuginfo");
	if (!ok)
		return -1;
	dw.callbacks.debuginfo_path = &dw.debuginfo_path;
	dw.dwfl = dw.begin(&dw.callbacks);
	if (dw.dwfl == NULL)
		return -1;
	dw.report_begin(dw.dwfl);
	if (dw.proc_report(dw.dwfl, getpid()) != 0 || dw.report_end(dw.dwfl, NULL, NULL) != 0)
		return -1;
	return 1;
}

static Dwfl_Module *module_of(Dwarf_Addr a) {
	Dwfl_Module *mod = dw.addrmodule(dw.dwfl, a);
	if (mod == NULL) {   /* loaded since: read the module list again */
		dw.report_begin(dw.dwfl);
		if (dw.proc_report(dw.dwfl, getpid()) == 0 && dw.report_end(dw.dwfl, NULL, NULL) == 0)
			mod = dw.addrmodule(dw.dwfl, a);
	}
	return mod;
}

/* 1 when the site was printed as file:line, after label. */
static int print_line(const char *label, uintptr_t site) {
	if (dw.tried == 0)
		dw.tried = load();
	if (dw.tried < 0)
		return 0;
	Dwarf_Addr call = (Dwarf_Addr)site - 1;   /* a return address: the call is just before */
	Dwfl_Module *mod = module_of(call);
	Dwfl_Line *line = mod ? dw.getsrc(mod, call) : NULL;
	int lineno = 0;
	const char *file = line ? dw.lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
	if (file == NULL)
		return 0;
	const char *fn = dw.addrname(mod, call);
	char out[512];
	write_line(out, snprintf(out, sizeof(out), "%s%s:%d (%s) [%p]\n", label, file, lineno,
		fn ? fn : "?", (void *)site), sizeof(out));
	return 1;
}

#else

static int print_line(const char *label, uintptr_t site) {
	(void)label, (void)site;
	return 0;
}

#endif

/* file(symbol+offset) [address], as backtrace_symbols_fd, in one line. */
static void print_symbol(const char *label, uintptr_t site) {
	char line[512];
	void *a = (void *)site;
	Dl_info info = { 0 };
	if (!dladdr(a, &info))
		info.dli_fname = NULL;
	int n;
	if (info.dli_fname && info.dli_sname && info.dli_saddr)
		n = snprintf(line, sizeof(line), "%s%s(%s+0x%lx) [%p]\n", label, info.dli_fname,
			info.dli_sname, (unsigned long)(site - (uintptr_t)info.dli_saddr), a);
	else if (info.dli_fname)
		n = snprintf(line, sizeof(line), "%s%s(+0x%lx) [%p]\n", label, info.dli_fname,
			(unsigned long)(site - (uintptr_t)info.dli_fbase), a);
	else
		n = snprintf(line, sizeof(line), "%s[%p]\n", label, a);
	write_line(line, n, sizeof(line));
}

void site_print(uintptr_t site) {
	if (site == 0 || print_line("  allocated at: ", site))
		return;
	print_symbol("  allocated at: ", site);
}

void site_print_frame(int index, uintptr_t pc) {
	char label[32];
	snprintf(label, sizeof(label), "    #%-2d ", index);
	if (pc == 0 || print_line(label, pc))
		return;
	print_symbol(label, pc);
}
