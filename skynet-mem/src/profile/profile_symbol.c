/* Names of code addresses for the profile's text forms (folded stacks, top
 * sites): the function that contains the address, from its module's own
 * symbol table (.symtab, so static functions too: skynet's C modules keep
 * most of theirs static), read from the file on first use; dladdr's dynamic
 * symbols when the file has none (a stripped library), else module+offset.
 * Runs only when a profile is written, never while allocating. */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "profile.h"

#define MODULES 64

struct module {
	uintptr_t base;          /* where its ELF header is mapped (dli_fbase) */
	uintptr_t bias;          /* runtime address - link-time address */
	const unsigned char *map;
	size_t len;
	const ElfW(Sym) *sym;
	size_t nsym;
	const char *str;
	size_t strsz;
};

struct symbolizer {
	size_t n;
	struct module m[MODULES];
	uintptr_t main_base;     /* the program's ELF header, whose dli_fname is argv[0] */
};

static int first_object(struct dl_phdr_info *info, size_t size, void *ud) {
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_LOAD && info->dlpi_phdr[i].p_offset == 0) {
			*(uintptr_t *)ud = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
			break;
		}
	return 1;   /* the first object is the program */
}

struct symbolizer *symbolizer_new(void) {
	struct symbolizer *s = backend_raw_alloc(sizeof(*s));
	if (s)
		dl_iterate_phdr(first_object, &s->main_base);
	return s;
}

void symbolizer_free(struct symbolizer *s) {
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (s->m[i].map)
			munmap((void *)s->m[i].map, s->m[i].len);
	backend_raw_free(s);
}

/* The file's symbol table, if it has one, into m (m->sym NULL otherwise). */
static void module_load(struct module *m, const char *path) {
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return;
	if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(ElfW(Ehdr))) {
		close(fd);
		return;
	}
	void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return;
	m->map = map;
	m->len = (size_t)st.st_size;
	const ElfW(Ehdr) *eh = map;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
		eh->e_shoff == 0 || eh->e_shoff + (size_t)eh->e_shnum * sizeof(ElfW(Shdr)) > m->len ||
		eh->e_phoff + (size_t)eh->e_phnum * sizeof(ElfW(Phdr)) > m->len)
		return;
	const ElfW(Phdr) *ph = (const void *)(m->map + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0) {
			m->bias = m->base - ph[i].p_vaddr;
			break;
		}
	const ElfW(Shdr) *sh = (const void *)(m->map + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
			continue;
		const ElfW(Shdr) *strs = &sh[sh[i].sh_link];
		if (sh[i].sh_offset + sh[i].sh_size > m->len || strs->sh_offset + strs->sh_size > m->len)
			return;
		m->sym = (const void *)(m->map + sh[i].sh_offset);
		m->nsym = sh[i].sh_size / sizeof(ElfW(Sym));
		m->str = (const char *)(m->map + strs->sh_offset);
		m->strsz = strs->sh_size;
		return;
	}
}

static struct module *module_at(struct symbolizer *s, uintptr_t base, const char *fname) {
	for (size_t i = 0; i < s->n; i++)
		if (s->m[i].base == base)
			return &s->m[i];
	if (s->n == MODULES)
		return NULL;
	struct module *m = &s->m[s->n++];
	memset(m, 0, sizeof(*m));
	m->base = base;
	module_load(m, base == s->main_base ? "/proc/self/exe" : fname);
	return m;
}

/* The function containing the link-time address a, or NULL. */
static const char *lookup(const struct module *m, uintptr_t a, uintptr_t *start) {
	for (size_t i = 0; i < m->nsym; i++) {
		const ElfW(Sym) *y = &m->sym[i];
		int type = ELF64_ST_TYPE(y->st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || y->st_size == 0 || y->st_shndx == SHN_UNDEF)
			continue;
		if (a >= y->st_value && a - y->st_value < y->st_size && y->st_name < m->strsz) {
			*start = y->st_value;
			return m->str + y->st_name;
		}
	}
	return NULL;
}

void symbolize(struct symbolizer *s, uintptr_t at, char *buf, size_t size, uintptr_t *fn) {
	Dl_info di;
	*fn = at;
	if (dladdr((void *)at, &di) == 0 || di.dli_fbase == NULL) {
		snprintf(buf, size, "0x%jx", (uintmax_t)at);
		return;
	}
	struct module *m = s ? module_at(s, (uintptr_t)di.dli_fbase, di.dli_fname) : NULL;
	uintptr_t start;
	const char *name = m && m->sym ? lookup(m, at - m->bias, &start) : NULL;
	if (name) {
		*fn = start + m->bias;
		snprintf(buf, size, "%s+0x%jx", name, (uintmax_t)(at - m->bias - start));
	} else if (di.dli_sname != NULL) {
		*fn = (uintptr_t)di.dli_saddr;
		snprintf(buf, size, "%s+0x%jx", di.dli_sname, (uintmax_t)(at - (uintptr_t)di.dli_saddr));
	} else {
		const char *slash = di.dli_fname ? strrchr(di.dli_fname, '/') : NULL;
		snprintf(buf, size, "%s+0x%jx", slash ? slash + 1 : di.dli_fname ? di.dli_fname : "?",
			(uintmax_t)(at - (uintptr_t)di.dli_fbase));
	}
}
