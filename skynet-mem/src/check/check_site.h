#ifndef SKYNET_MEM_CHECK_SITE_H
#define SKYNET_MEM_CHECK_SITE_H

/* Allocation sites in reports (check_site.c). */

#include <stdint.h>

#include "internal.h"

/* Writes "  allocated at: FILE:LINE (FUNCTION) [ADDRESS]" on stderr when the
 * debug information of the site's module can be read (through libdw, loaded
 * on first use when installed), else the module+offset form of
 * backtrace_symbols_fd. Callers serialize (the report lock). */
HIDDEN void site_print(uintptr_t site);
/* A backtrace's frame (a return address) the same way, as
 * "    #index FILE:LINE (FUNCTION) [ADDRESS]". */
HIDDEN void site_print_frame(int index, uintptr_t pc);

#endif
