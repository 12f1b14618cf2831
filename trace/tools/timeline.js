/* timeline.js: the script of `greenvm trace html`'s page (trace/tools/tools.c
 * embeds it at build time).  Draws the lanes from the data in #data, zooms
 * with the wheel, pans by dragging, shows an event's details on hover, and
 * writes a summary of what it drew into <body data-...> for tests. */
const D=JSON.parse(document.getElementById('data').textContent);
const cv=document.getElementById('tl'),cx=cv.getContext('2d'),tip=document.getElementById('tip');
const LH=22,LW=150,TOP=26;
const lanes=[];D.ps.forEach(p=>lanes.push({kind:'p',id:p,label:'P'+p,items:[]}));
const gl={};D.gs.forEach(g=>{gl[g.id]=lanes.length;lanes.push({kind:'g',id:g.id,label:'G'+g.id+' '+g.fn,items:[]});});
const pl={};D.ps.forEach((p,i)=>pl[p]=i);
D.run.forEach(r=>{if(r[0] in pl)lanes[pl[r[0]]].items.push({a:r[2],b:r[3],g:r[1],st:0,why:r[4]});});
D.seg.forEach(s=>{if(s[0] in gl)lanes[gl[s[0]]].items.push({a:s[2],b:s[3],g:s[0],st:s[1],why:s[4]});});
const STATES=['running','runnable','blocked','syscall','sleeping'];
const SCOL=['#3b82f6','#fbbf24','#f87171','#a78bfa','#94a3b8'];
function gcol(g){const h=(g*137.508)%360;return 'hsl('+h+',62%,58%)';}
let t0=0,t1=Math.max(D.dur,1);
function resize(){cv.width=cv.parentElement.clientWidth;cv.height=TOP+lanes.length*LH+4;draw();}
function X(t){return LW+(t-t0)/(t1-t0)*(cv.width-LW);}
function trim(v,d){return v.toFixed(d).replace(/\.?0+$/,'');}
function fmt(ns){return ns>=1e6?trim(ns/1e6,3)+' ms':ns>=1e3?trim(ns/1e3,1)+' \u00b5s':Math.round(ns)+' ns';}
let drawn={p:0,g:0};
function draw(){cx.clearRect(0,0,cv.width,cv.height);cx.font='12px sans-serif';drawn={p:0,g:0};
 const step=Math.pow(10,Math.floor(Math.log10((t1-t0)/5)));cx.fillStyle='#555';cx.strokeStyle='#e5e7eb';
 for(let t=Math.ceil(t0/step)*step;t<=t1;t+=step){const x=X(t);cx.beginPath();cx.moveTo(x,TOP-6);cx.lineTo(x,cv.height);cx.stroke();cx.fillText(fmt(t),x+2,12);}
 lanes.forEach((l,i)=>{const y=TOP+i*LH;cx.fillStyle=i%2?'#f8fafc':'#eef2f7';cx.fillRect(LW,y,cv.width-LW,LH);
  cx.fillStyle=l.kind=='p'?'#1e3a8a':'#334155';cx.fillText(l.label.slice(0,22),4,y+15);
  l.items.forEach(it=>{if(it.b<t0||it.a>t1)return;const x0=Math.max(X(it.a),LW),x1=Math.min(X(it.b),cv.width);
   cx.fillStyle=l.kind=='p'?gcol(it.g):SCOL[it.st];cx.fillRect(x0,y+3,Math.max(x1-x0,1),LH-6);
   if(l.kind=='p'&&x1-x0>28){cx.fillStyle='#fff';cx.fillText('G'+it.g,x0+3,y+15);}});
  drawn[l.kind]++;});
 cx.fillStyle='#fff';cx.fillRect(0,0,LW,TOP-4);
 document.body.dataset.lanesP=drawn.p;document.body.dataset.lanesG=drawn.g;document.body.dataset.drawn='yes';}
cv.addEventListener('wheel',ev=>{ev.preventDefault();const r=cv.getBoundingClientRect(),x=ev.clientX-r.left;if(x<LW)return;
 const t=t0+(x-LW)/(cv.width-LW)*(t1-t0),k=ev.deltaY>0?1.25:0.8;t0=t-(t-t0)*k;t1=t+(t1-t)*k;
 if(t1-t0<10){t1=t0+10;}draw();},{passive:false});
let drag=null;cv.addEventListener('mousedown',ev=>{drag={x:ev.clientX,t0:t0,t1:t1};});
window.addEventListener('mouseup',()=>drag=null);
cv.addEventListener('mousemove',ev=>{const r=cv.getBoundingClientRect(),x=ev.clientX-r.left,y=ev.clientY-r.top;
 if(drag){const dt=(ev.clientX-drag.x)/(cv.width-LW)*(drag.t1-drag.t0);t0=drag.t0-dt;t1=drag.t1-dt;draw();return;}
 const l=lanes[Math.floor((y-TOP)/LH)];tip.style.display='none';if(!l||x<LW)return;
 const t=t0+(x-LW)/(cv.width-LW)*(t1-t0),slop=(t1-t0)/(cv.width-LW)*2;
 const it=l.items.find(i=>i.a-slop<=t&&t<=i.b+slop);if(!it)return;const g=D.gs.find(q=>q.id==it.g);
 tip.innerHTML='<b>G'+it.g+'</b> '+(g?g.fn:'')+'<br>'+(l.kind=='p'?'running on P'+l.id:STATES[it.st])+
  '<br>from '+fmt(it.a)+' for '+fmt(it.b-it.a)+(it.why?'<br>then '+it.why:'');
 tip.style.display='block';tip.style.left=(ev.pageX+12)+'px';tip.style.top=(ev.pageY+12)+'px';});
cv.addEventListener('mouseleave',()=>tip.style.display='none');
document.getElementById('reset').onclick=()=>{t0=0;t1=Math.max(D.dur,1);draw();};
window.addEventListener('resize',resize);resize();
