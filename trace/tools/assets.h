/* assets.h: the timeline page's files, embedded at build time (trace/tools/).
 *
 * timeline.html, timeline.css and timeline.js are ordinary files a reader can
 * open in an editor or a browser; SConstruct's `embed` builder turns each into
 * a NUL-terminated array of its bytes, named after the file (build/gen/trace/
 * tools/assets.c).
 */
#ifndef GREENVM_TRACE_TOOLS_ASSETS_H
#define GREENVM_TRACE_TOOLS_ASSETS_H

extern const char trace_tools_timeline_html[]; /* the page, with {{name}} holes */
extern const char trace_tools_timeline_css[];  /* its style, for {{style}} */
extern const char trace_tools_timeline_js[];   /* its script, for {{script}} */

#endif
