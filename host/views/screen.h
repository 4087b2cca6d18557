#ifndef SKYNET_HOST_SCREEN_H
#define SKYNET_HOST_SCREEN_H

/* The live table redrawn in place on a terminal (screen.c). */

struct host_mem_view;

/* Clears the terminal; from now on screen_note keeps lines for the screen. */
void screen_begin(void);
void screen_end(void);
/* While the screen is active: keeps line for the screen's "latest" lines and
 * returns 1 (the caller prints nothing); else 0. */
int screen_note(const char *line);
/* One frame: title, table fitted to the terminal's height, latest lines. */
void screen_draw(const struct host_mem_view *v, const struct host_mem_view *prev, double seconds);

#endif
