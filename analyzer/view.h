/* view.h - `audioprof view` (view.c), and the viewer page it fills in: viewer/index.html
 * with its stylesheet and scripts inlined, generated at build time by gen_viewer.c
 * into obj/viewer_page.c, so the command needs no file at run time. */
#ifndef AUDIOPROF_VIEW_H
#define AUDIOPROF_VIEW_H

#include <stddef.h>

int cmd_view(int argc, char **argv);

/* The page is viewer_head, then ` data-name="FILE">` and the profile's JSON (escaped by
 * view.c), then viewer_tail: the head ends inside the opening tag of the profile's
 * <script type="application/json" id="audioprof-data"> element and the tail starts
 * with its "</script>". Both are UTF-8 and not NUL-terminated. */
extern const unsigned char viewer_head[];
extern const size_t viewer_head_len;
extern const unsigned char viewer_tail[];
extern const size_t viewer_tail_len;

#endif
