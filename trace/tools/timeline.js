/* timeline.js: the script of `greenvm trace html`'s page (trace/tools/tools.c
 * embeds it at build time).  Draws the lanes from the data in #data, zooms
 * with the wheel, pans by dragging, shows an event's details on hover, and
 * writes a summary of what it drew into <body data-...> for tests.
 *
 * #data (timeline_pages.c): dur, the trace's length; from, to, the range
 * this page shows (the whole trace, or one page's time range); why, the
 * event names an item's last field indexes; ps, the P ids; gs, the
 * goroutines ({id, fn}); run, the P lanes' slices [p, g, start, length,
 * what ended it]; seg, the goroutine lanes' states [g, state, start,
 * length, what ended it]; a start is counted from `from`.  An aggregated overview (timeline_aggregate.c) has the same
 * shape, with merged items whose last field is a text.
 *
 * A click on a goroutine's slice (on a P lane or its own lane) selects it:
 * everything else fades, and its flows (#flows, timeline_focus.c) are drawn
 * as arrows between the goroutine lanes: who created it and whom it created
 * (GoCreate), who woke it and whom it woke (GoUnblock).  A click on nothing
 * clears the selection; the page's address may select one too
 * (page.html#g=5).  Goroutines are drawn on the P lanes in colours of their
 * own, from hues the state legend does not use (greens, teals, pinks), so a
 * running G is never mistaken for a state.  A virtual-clock trace's times
 * are shown in ticks.  What is selected goes into <body data-focus
 * data-flows> for the tests.
 *
 * A large trace is an aggregated overview and pages of events by time
 * range (#pages: the overview's file, this page's number, 0 for the
 * overview, and each page's [from, to, file]).  On the overview, the bar
 * above the timeline links the page or two that hold what is on screen,
 * and a double click opens the page under the pointer; on a page, the bar
 * links the overview and the pages before and after.  Every link carries
 * the view (#t=FROM,TO, the whole trace's times, and the followed
 * goroutine), so a zoom is kept from page to page; the address may give a
 * view too (page.html#t=1000,2000).  <body data-page data-aggregated
 * data-detail data-run> tell the tests which page this is, and what the
 * bar links. */
const D=JSON.parse(document.getElementById('data').textContent);
/* flows: [kind (0 create, 1 unblock), from goroutine (0: none), to, time] */
const FD=JSON.parse(document.getElementById('flows').textContent),FL=FD.flows;
const PG=JSON.parse(document.getElementById('pages').textContent);
const cv=document.getElementById('tl'),cx=cv.getContext('2d'),tip=document.getElementById('tip'),bar=document.getElementById('bar');
const LH=22,LW=150,TOP=26;
const FROM=D.from||0,TO=D.to===undefined?D.dur:D.to;
function why(w){return typeof w=='number'?(D.why?D.why[w]:''):w;}
const lanes=[];D.ps.forEach(p=>lanes.push({kind:'p',id:p,label:'P'+p,items:[]}));
const gl={};D.gs.forEach(g=>{gl[g.id]=lanes.length;lanes.push({kind:'g',id:g.id,label:'G'+g.id+' '+g.fn,items:[]});});
const pl={};D.ps.forEach((p,i)=>pl[p]=i);
D.run.forEach(r=>{if(r[0] in pl)lanes[pl[r[0]]].items.push({a:FROM+r[2],b:FROM+r[2]+r[3],g:r[1],st:0,why:why(r[4])});});
D.seg.forEach(s=>{if(s[0] in gl)lanes[gl[s[0]]].items.push({a:FROM+s[2],b:FROM+s[2]+s[3],g:s[0],st:s[1],why:why(s[4])});});
const STATES=['running','runnable','blocked','syscall','sleeping'];
const SCOL=['#3b82f6','#fbbf24','#f87171','#a78bfa','#94a3b8'];
function gcol(g){const k=(g*0.618034)%1,band=k<0.7?90+k/0.7*95:295+(k-0.7)/0.3*30;
 return 'hsl('+band.toFixed(1)+','+(g%2?55:70)+'%,'+(g%3?42:55)+'%)';}
let t0=FROM,t1=Math.max(TO,FROM+1);
function resize(){cv.width=cv.parentElement.clientWidth;cv.height=TOP+lanes.length*LH+4;draw();}
function X(t){return LW+(t-t0)/(t1-t0)*(cv.width-LW);}
function trim(v,d){return v.toFixed(d).replace(/\.?0+$/,'');}
function fmt(ns){if(FD.unit=='ticks')return Math.round(ns)+' ticks';return ns>=1e6?trim(ns/1e6,3)+' ms':ns>=1e3?trim(ns/1e3,1)+' \u00b5s':Math.round(ns)+' ns';}
let drawn={p:0,g:0};
function draw(){cx.clearRect(0,0,cv.width,cv.height);cx.font='12px sans-serif';drawn={p:0,g:0};
 /* ticks of 1, 2 or 5 times a power of ten, labels at least 110 px apart */
 const want=(t1-t0)*110/Math.max(cv.width-LW,1),p10=Math.pow(10,Math.floor(Math.log10(want)));
 const step=[1,2,5,10].map(k=>k*p10).find(s=>s>=want);cx.fillStyle='#555';cx.strokeStyle='#e5e7eb';
 for(let t=Math.ceil(t0/step)*step;t<=t1;t+=step){const x=X(t);cx.beginPath();cx.moveTo(x,TOP-6);cx.lineTo(x,cv.height);cx.stroke();cx.fillText(fmt(t),x+2,12);}
 lanes.forEach((l,i)=>{const y=TOP+i*LH;cx.fillStyle=i%2?'#f8fafc':'#eef2f7';cx.fillRect(LW,y,cv.width-LW,LH);
  cx.fillStyle=l.kind=='p'?'#1e3a8a':'#334155';cx.fillText(l.label.slice(0,22),4,y+15);
  l.items.forEach(it=>{if(it.b<t0||it.a>t1)return;const x0=Math.max(X(it.a),LW),x1=Math.min(X(it.b),cv.width);
   cx.fillStyle=l.kind=='p'?gcol(it.g):SCOL[it.st];cx.fillRect(x0,y+3,Math.max(x1-x0,1),LH-6);
   if(l.kind=='p'&&x1-x0>28){cx.fillStyle='#fff';cx.fillText('G'+it.g,x0+3,y+15);}});
  drawn[l.kind]++;});
 drawPages();
 cx.fillStyle='#fff';cx.fillRect(0,0,LW,TOP-4);
 document.body.dataset.lanesP=drawn.p;document.body.dataset.lanesG=drawn.g;document.body.dataset.drawn='yes';
 drawFocus();drawBar();}
/* On a page, the time outside its range is greyed (its events are on the
 * pages before and after); on the overview, the pages' bounds are dashed
 * lines when they are far enough apart to see. */
function drawPages(){const y=TOP,h=cv.height-TOP;
 if(PG.page){cx.fillStyle='rgba(148,163,184,0.35)';
  if(t0<FROM){const x=Math.min(X(FROM),cv.width);cx.fillRect(LW,y,x-LW,h);}
  if(t1>TO){const x=Math.max(X(TO),LW);cx.fillRect(x,y,cv.width-x,h);}return;}
 const ps=PG.pages.filter(p=>p[0]>t0&&p[0]<t1);if(!ps.length||ps.length>(cv.width-LW)/8)return;
 cx.strokeStyle='#64748b';cx.setLineDash([4,4]);
 ps.forEach(p=>{const x=X(p[0]);cx.beginPath();cx.moveTo(x,TOP-6);cx.lineTo(x,cv.height);cx.stroke();});cx.setLineDash([]);}
/* The address of a page showing the current view. */
function view(){return '#t='+Math.floor(t0)+','+Math.ceil(t1)+(sel!==null?'&g='+sel:'');}
function link(file,text){const a=document.createElement('a');a.href=file+view();a.textContent=text;return a;}
function range(p){return fmt(p[0])+' to '+fmt(p[1]);}
/* The bar: on the overview, the pages of what is on screen (at most two:
 * zoomed out further, a hint); on a page, the overview and its neighbours. */
function drawBar(){bar.textContent='';const detail=[];
 if(!PG.pages.length){bar.style.display='none';}
 else if(PG.page==0){const on=PG.pages.map((p,i)=>i).filter(i=>PG.pages[i][1]>=t0&&PG.pages[i][0]<=t1);
  if(on.length<=2){bar.append('The events on screen: ');
   on.forEach((i,k)=>{if(k)bar.append(' and ');detail.push(PG.pages[i][2]);
    bar.append(link(PG.pages[i][2],'page '+(i+1)),' ('+range(PG.pages[i])+')');});}
  else bar.append('On screen: '+on.length+' pages of events (from page '+(on[0]+1)+' to '+(on[on.length-1]+1)+
   '); zoom in to two or fewer to link them here, or double-click a place to open its page.');}
 else{const k=PG.page,n=PG.pages.length;bar.append('Page '+k+' of '+n+' ('+range(PG.pages[k-1])+'): ');
  bar.append(link(PG.overview,'the overview'));
  if(k>1){bar.append(', ');bar.append(link(PG.pages[k-2][2],'page '+(k-1)));detail.push(PG.pages[k-2][2]);}
  if(k<n){bar.append(', ');bar.append(link(PG.pages[k][2],'page '+(k+1)));detail.push(PG.pages[k][2]);}
  bar.append('.');}
 const b=document.body.dataset;b.page=PG.page;b.aggregated=D.aggregated?'yes':'no';b.detail=detail.join(' ');
 b.run=D.run.length;b.view=Math.floor(t0)+','+Math.ceil(t1);}
let sel=null;
function laneY(g){return g in gl?TOP+gl[g]*LH:null;}
/* The selected goroutine over a faded page, and its flows as arrows. */
function drawFocus(){let n=0;
 if(sel!==null){cx.fillStyle='rgba(255,255,255,0.7)';cx.fillRect(LW,TOP,cv.width-LW,cv.height-TOP);
  lanes.forEach((l,i)=>{const y=TOP+i*LH;l.items.forEach(it=>{if(it.g!=sel||it.b<t0||it.a>t1)return;
   const x0=Math.max(X(it.a),LW),x1=Math.min(X(it.b),cv.width);
   cx.fillStyle=l.kind=='p'?gcol(it.g):SCOL[it.st];cx.fillRect(x0,y+3,Math.max(x1-x0,1),LH-6);});});
  cx.strokeStyle='#111827';cx.fillStyle='#111827';cx.lineWidth=1.5;
  FL.forEach(f=>{if(f[1]!=sel&&f[2]!=sel)return;if(f[3]<t0||f[3]>t1)return;const x=X(f[3]);
   const yb=laneY(f[2]);if(yb===null)return;const ya=laneY(f[1]);const y0=(ya===null?yb-LH:ya)+LH/2,y1=yb+LH/2;
   cx.beginPath();cx.moveTo(x,y0);cx.lineTo(x,y1);cx.stroke();const d=y1>y0?-6:6;
   cx.beginPath();cx.moveTo(x,y1);cx.lineTo(x-4,y1+d);cx.lineTo(x+4,y1+d);cx.fill();
   cx.fillText(f[0]?'unblock':'create',x+4,(y0+y1)/2);n++;});cx.lineWidth=1;}
 document.body.dataset.focus=sel===null?'':sel;document.body.dataset.flows=n;}
cv.addEventListener('wheel',ev=>{ev.preventDefault();const r=cv.getBoundingClientRect(),x=ev.clientX-r.left;if(x<LW)return;
 const t=t0+(x-LW)/(cv.width-LW)*(t1-t0),k=ev.deltaY>0?1.25:0.8;t0=t-(t-t0)*k;t1=t+(t1-t)*k;
 if(t1-t0<10){t1=t0+10;}draw();},{passive:false});
let drag=null,down=null;cv.addEventListener('mousedown',ev=>{drag={x:ev.clientX,t0:t0,t1:t1};down={x:ev.clientX,y:ev.clientY};});
window.addEventListener('mouseup',()=>drag=null);
cv.addEventListener('mousemove',ev=>{const r=cv.getBoundingClientRect(),x=ev.clientX-r.left,y=ev.clientY-r.top;
 if(drag){const dt=(ev.clientX-drag.x)/(cv.width-LW)*(drag.t1-drag.t0);t0=drag.t0-dt;t1=drag.t1-dt;draw();return;}
 const l=lanes[Math.floor((y-TOP)/LH)];tip.style.display='none';if(!l||x<LW)return;
 const t=t0+(x-LW)/(cv.width-LW)*(t1-t0),slop=(t1-t0)/(cv.width-LW)*2;
 const it=l.items.find(i=>i.a-slop<=t&&t<=i.b+slop);if(!it)return;const g=D.gs.find(q=>q.id==it.g);
 tip.innerHTML='<b>G'+it.g+'</b> '+(g?g.fn:'')+'<br>'+(l.kind=='p'?'running on P'+l.id:STATES[it.st])+
  '<br>from '+fmt(it.a)+' for '+fmt(it.b-it.a)+(/^\d+ merged$/.test(it.why)?'<br>'+parseInt(it.why)+
  ' slices merged: double-click to open their page':it.why?'<br>then '+it.why:'');
 tip.style.display='block';tip.style.left=(ev.pageX+12)+'px';tip.style.top=(ev.pageY+12)+'px';});
cv.addEventListener('mouseleave',()=>tip.style.display='none');
document.getElementById('reset').onclick=()=>{t0=FROM;t1=Math.max(TO,FROM+1);draw();};
/* A click that did not drag selects the goroutine under it, or clears. */
cv.addEventListener('click',ev=>{if(down&&Math.abs(ev.clientX-down.x)+Math.abs(ev.clientY-down.y)>3)return;
 const r=cv.getBoundingClientRect(),x=ev.clientX-r.left,y=ev.clientY-r.top;const l=lanes[Math.floor((y-TOP)/LH)];
 let g=null;if(l&&x>=LW){const t=t0+(x-LW)/(cv.width-LW)*(t1-t0),slop=(t1-t0)/(cv.width-LW)*2;
  const it=l.items.find(i=>i.a-slop<=t&&t<=i.b+slop);if(it)g=it.g;}
 sel=(g===null||g===sel)?null:g;draw();});
/* On the overview, a double click opens the page of that time, at this view. */
cv.addEventListener('dblclick',ev=>{if(PG.page||!PG.pages.length)return;const r=cv.getBoundingClientRect(),x=ev.clientX-r.left;if(x<LW)return;
 const t=t0+(x-LW)/(cv.width-LW)*(t1-t0),p=PG.pages.find(q=>t<q[1])||PG.pages[PG.pages.length-1];
 location.href=p[2]+view();});
const m=/[#&]g=(\d+)/.exec(location.hash);if(m)sel=+m[1];
const v=/[#&]t=(-?[\d.]+),(-?[\d.]+)/.exec(location.hash);if(v&&+v[2]>+v[1]){t0=+v[1];t1=+v[2];}
window.addEventListener('resize',resize);resize();
