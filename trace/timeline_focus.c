/* timeline_focus.c: one goroutine and its flows in `greenvm trace html`,
 * and the page's goroutine colours and time unit.
 *
 * A click on a goroutine's slice (on a P lane or its own lane) selects it:
 * everything else fades, and its flows are drawn as arrows between the
 * goroutine lanes: who created it and whom it created (GoCreate), who woke
 * it and whom it woke (GoUnblock).  A click on nothing clears the
 * selection; the page's address may select one too (page.html#g=5).
 *
 * Goroutines are drawn on the P lanes in colours of their own, from hues
 * the state legend does not use (greens, teals, pinks), so a running G is
 * never mistaken for a state.  A trace written with the virtual clock
 * (greenvm's --trace-clock=virtual, told by its frequency of exactly 1e9
 * ticks a second) has its times shown in ticks.
 *
 * This file adds to the page html_script (tools.c) draws: the flows and
 * the unit as data (<script id="flows">) and a second script that wraps
 * the first one's draw() and replaces its gcol() and fmt().
 * The page writes what it shows into <body data-focus data-flows> for the
 * tests.
 */
/* The tools run on an ordinary thread stack, never on g0. */
#pragma GCC diagnostic ignored "-Wframe-larger-than="

#include "trace/tools.h"

/* The script.  It uses the main script's globals: lanes, gl (goroutine id ->
 * lane), X(), LH, LW, TOP, cx, cv, t0, t1, SCOL, gcol and draw. */
static const char focus_script[] =
	"const FD=JSON.parse(document.getElementById('flows').textContent),FL=FD.flows;\n"
	"gcol=function(g){const k=(g*0.618034)%1,band=k<0.7?90+k/0.7*95:295+(k-0.7)/0.3*30;\n"
	" return 'hsl('+band.toFixed(1)+','+(g%2?55:70)+'%,'+(g%3?42:55)+'%)';};\n"
	"if(FD.unit=='ticks')fmt=function(n){return Math.round(n)+' ticks';};\n"
	"let sel=null;const draw0=draw;\n"
	"function laneY(g){return g in gl?TOP+gl[g]*LH:null;}\n"
	"draw=function(){draw0();let n=0;\n"
	" if(sel!==null){cx.fillStyle='rgba(255,255,255,0.7)';cx.fillRect(LW,TOP,cv.width-LW,cv.height-TOP);\n"
	"  lanes.forEach((l,i)=>{const y=TOP+i*LH;l.items.forEach(it=>{if(it.g!=sel||it.b<t0||it.a>t1)return;\n"
	"   const x0=Math.max(X(it.a),LW),x1=Math.min(X(it.b),cv.width);\n"
	"   cx.fillStyle=l.kind=='p'?gcol(it.g):SCOL[it.st];cx.fillRect(x0,y+3,Math.max(x1-x0,1),LH-6);});});\n"
	"  cx.strokeStyle='#111827';cx.fillStyle='#111827';cx.lineWidth=1.5;\n"
	"  FL.forEach(f=>{if(f[1]!=sel&&f[2]!=sel)return;if(f[3]<t0||f[3]>t1)return;const x=X(f[3]);\n"
	"   const yb=laneY(f[2]);if(yb===null)return;const ya=laneY(f[1]);const y0=(ya===null?yb-LH:ya)+LH/2,y1=yb+LH/2;\n"
	"   cx.beginPath();cx.moveTo(x,y0);cx.lineTo(x,y1);cx.stroke();const d=y1>y0?-6:6;\n"
	"   cx.beginPath();cx.moveTo(x,y1);cx.lineTo(x-4,y1+d);cx.lineTo(x+4,y1+d);cx.fill();\n"
	"   cx.fillText(f[0]?'unblock':'create',x+4,(y0+y1)/2);n++;});cx.lineWidth=1;}\n"
	" document.body.dataset.focus=sel===null?'':sel;document.body.dataset.flows=n;};\n"
	"let down=null;cv.addEventListener('mousedown',ev=>{down={x:ev.clientX,y:ev.clientY};});\n"
	"cv.addEventListener('click',ev=>{if(down&&Math.abs(ev.clientX-down.x)+Math.abs(ev.clientY-down.y)>3)return;\n"
	" const r=cv.getBoundingClientRect(),x=ev.clientX-r.left,y=ev.clientY-r.top;const l=lanes[Math.floor((y-TOP)/LH)];\n"
	" let g=null;if(l&&x>=LW){const t=t0+(x-LW)/(cv.width-LW)*(t1-t0),slop=(t1-t0)/(cv.width-LW)*2;\n"
	"  const it=l.items.find(i=>i.a-slop<=t&&t<=i.b+slop);if(it)g=it.g;}\n"
	" sel=(g===null||g===sel)?null:g;draw();});\n"
	"const m=/#g=(\\d+)/.exec(location.hash);if(m)sel=+m[1];draw();\n";

/* The flows: [kind (0 create, 1 unblock), from goroutine (0: none), to
 * goroutine, time]. */
static void focus_flows(const trace_rd *t, FILE *out)
{
	bool first = true;
	fprintf(out, "{\"unit\":\"%s\",\"flows\":[", trace_tool_virtual_clock(t) ? "ticks" : "ns");
	if (t->nev > TRACE_TOOL_HTML_DETAIL) {
		trace_tool_html_flows_aggregate(t, t->nev ? t->ev[t->nev - 1].ts : 0, out);
		fputs("]}", out);
		return;
	}
	for (size_t i = 0; i < t->nev; i++) {
		const trace_rd_event *e = &t->ev[i];
		int kind = e->type == TRACE_EV_GO_CREATE ? 0 : e->type == TRACE_EV_GO_UNBLOCK ? 1 : -1;
		if (kind < 0)
			continue;
		fprintf(out, "%s[%d,%llu,%llu,%lld]", first ? "" : ",", kind,
			(unsigned long long)trace_rd_g(t, e), (unsigned long long)trace_rd_arg(t, e, 0),
			(long long)e->ts);
		first = false;
	}
	fputs("]}", out);
}

bool trace_tool_virtual_clock(const trace_rd *t)
{
	return t->freq == 1000000000u;
}

void trace_tool_html_focus(const trace_rd *t, FILE *out)
{
	fputs("<script type=\"application/json\" id=\"flows\">", out);
	focus_flows(t, out);
	fprintf(out, "</script>\n<script>\n%s</script>\n", focus_script);
}
