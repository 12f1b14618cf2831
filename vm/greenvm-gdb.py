# greenvm-gdb.py: gdb commands that show greenvm's goroutines and Ms, in the
# spirit of Go's runtime-gdb.py.  Load it in gdb with
#
#     source vm/greenvm-gdb.py
#
# (or gdb -x vm/greenvm-gdb.py --args build/greenvm run ...), then, with the
# process stopped:
#
#     info goroutines     every live G: id, status, wait reason, the bytecode
#                         function and line it is at ("*": running on an M)
#     goroutine N bt      the VM-level traceback of goroutine N
#     info ms             every M: its g0 range and current SP, its P, its G
#
# docs/gdb.md shows them on a live program.  The script reads the runtime's
# structs through gdb's view of the debug info (build with -g: both builds
# are).  Every struct field it reads is named in LAYOUT below and nowhere
# else, so a renamed or moved field is one line to change.

import gdb

# Each logical field: the paths to try, in order, from the struct given.
# A path may go through a pointer or a member struct ("a.b" reads
# m->a->b or m->a.b), so a field that moves into a part of its struct
# needs one path more.
LAYOUT = {
    # the global scheduler state, `sched` (scheduler/runtime.h)
    "allgs": ["allgs"],
    "nallgs": ["nallgs"],
    "allm": ["allm"],
    # struct sched_g (scheduler/sched.h)
    "g.goid": ["goid"],
    "g.status": ["status"],
    "g.waitreason": ["waitreason"],
    "g.vm": ["vm"],
    # struct sched_m (scheduler/runtime.h), its stacks included
    "m.id": ["id"],
    "m.curg": ["curg"],
    "m.p": ["p"],
    "m.alllink": ["alllink"],
    "m.g0_lo": ["g0_lo"],
    "m.g0_hi": ["g0_hi"],
    "m.mstack_lo": ["mstack_lo"],
    "m.mstack_hi": ["mstack_hi"],
    "m.thread": ["thread"],
    "m.op": ["op"],
    # struct sched_p
    "p.id": ["id"],
    # the VM: rt (vm/interp.c), vm_program and vm_function (vm/vm.h),
    # vm_ctx (vm/internal.h), vm_value
    "rt.prog": ["prog"],
    "prog.file": ["file"],
    "prog.funcs": ["funcs"],
    "prog.nfuncs": ["nfuncs"],
    "prog.lines": ["lines"],
    "prog.ncode": ["ncode"],
    "func.name": ["name"],
    "func.start": ["start"],
    "func.len": ["len"],
    "func.nlocals": ["nlocals"],
    "ctx.stack": ["stack"],
    "ctx.pc": ["pc"],
    "ctx.fn": ["fn"],
    "ctx.base": ["base"],
    "value.aux": ["aux"],
    "value.i": ["u.i"],
}

# Globals and types, by name.
SCHED = "sched"            # sched_state, scheduler/proc.c
VM_RT = "rt"               # the VM's state, static in vm/interp.c
VM_CTX_TYPE = "vm_ctx"     # what sched_g.vm points to
GSTATUS_ENUM = "enum sched_gstatus"
WAITREASON_ENUM = "enum sched_waitreason"
NO_CALLER = 0xFFFFFFFF     # VM_NO_CALLER: a goroutine's first frame
MAX_FRAMES = 100

# Go's spellings of the wait reasons (sched_waitreason_string); a reason
# not listed shows its enum name.
WAIT_WORDS = {
    "WAIT_NONE": "",
    "WAIT_CHAN_RECEIVE": "chan receive",
    "WAIT_CHAN_SEND": "chan send",
    "WAIT_CHAN_RECEIVE_NIL": "chan receive (nil chan)",
    "WAIT_CHAN_SEND_NIL": "chan send (nil chan)",
    "WAIT_SELECT": "select",
    "WAIT_SELECT_NO_CASES": "select (no cases)",
    "WAIT_SLEEP": "sleep",
    "WAIT_MUTEX": "sync.Mutex.Lock",
    "WAIT_WAITGROUP": "sync.WaitGroup.Wait",
}


def field(val, name):
    """The logical field `name` of val (a struct or a pointer to one)."""
    last = None
    for path in LAYOUT[name]:
        try:
            v = val
            for part in path.split("."):
                if v.type.strip_typedefs().code == gdb.TYPE_CODE_PTR:
                    v = v.dereference()
                v = v[part]
            return v
        except gdb.error as e:
            last = e
    raise gdb.GdbError("greenvm-gdb: no field %s (%s): update LAYOUT in greenvm-gdb.py"
                       % (name, last))


def enum_names(type_name):
    """value -> enumerator name of an enum in the debug info."""
    try:
        t = gdb.lookup_type(type_name)
    except gdb.error:
        return {}
    return {f.enumval: f.name for f in t.fields()}


def gstatus_word(n):
    name = enum_names(GSTATUS_ENUM).get(n, "status %d" % n)
    return name[2:].lower() if name.startswith("G_") else name


def waitreason_word(n):
    name = enum_names(WAITREASON_ENUM).get(n, "")
    return WAIT_WORDS.get(name, name.lower())


def sched():
    return gdb.parse_and_eval(SCHED)


def program():
    return field(gdb.parse_and_eval(VM_RT), "rt.prog")


def all_gs():
    s = sched()
    arr = field(s, "allgs")
    for i in range(int(field(s, "nallgs"))):
        yield arr[i]


def all_ms():
    m = field(sched(), "allm")
    while int(m) != 0:
        yield m
        m = field(m, "m.alllink")


def running_gs():
    """goid -> M id of every G an M is running now."""
    out = {}
    for m in all_ms():
        g = field(m, "m.curg")
        if int(g) != 0:
            out[int(field(g, "g.goid"))] = int(field(m, "m.id"))
    return out


def vm_frames(g):
    """The VM frames of g, innermost first: (function, file, line)."""
    prog = program()
    funcs = field(prog, "prog.funcs")
    nfuncs = int(field(prog, "prog.nfuncs"))
    lines = field(prog, "prog.lines")
    ncode = int(field(prog, "prog.ncode"))
    fname = field(prog, "prog.file").string()
    vmp = field(g, "g.vm")
    if int(vmp) == 0:
        return []
    ctx = vmp.cast(gdb.lookup_type(VM_CTX_TYPE).pointer()).dereference()
    stack = field(ctx, "ctx.stack")
    fn = int(field(ctx, "ctx.fn"))
    pc = int(field(ctx, "ctx.pc"))
    base = int(field(ctx, "ctx.base"))
    # The saved pc is the instruction the G is in (vm/interp.c's stack_hook
    # and traceback): the one it blocked in, its ffi, or the next to run of
    # a preempted or new G.  An outer frame's is its call (return address
    # - 1, as vm_frame_up).
    out = []
    while fn < nfuncs and len(out) < MAX_FRAMES:
        f = funcs[fn]
        line = int(lines[pc]) if pc < ncode else 0
        out.append((field(f, "func.name").string(), fname, line))
        rec = stack[base + int(field(f, "func.nlocals"))]
        caller = int(field(rec, "value.aux"))
        if caller == NO_CALLER:
            break
        word = int(field(rec, "value.i")) & 0xFFFFFFFFFFFFFFFF
        fn, pc, base = caller, (word & 0xFFFFFFFF) - 1, word >> 32
    return out


def find_g(goid):
    for g in all_gs():
        if int(field(g, "g.goid")) == goid:
            return g
    return None


class InfoGoroutines(gdb.Command):
    """info goroutines: every goroutine that is not dead, with its status,
wait reason and where it is in the bytecode.  "*" marks the ones an M is
running now (their saved registers may be a little behind)."""

    def __init__(self):
        super().__init__("info goroutines", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        running = running_gs()
        print("  %-5s %-9s %-24s %s" % ("id", "status", "wait reason", "function, line"))
        for g in all_gs():
            st = gstatus_word(int(field(g, "g.status")))
            if st == "dead":
                continue
            goid = int(field(g, "g.goid"))
            why = waitreason_word(int(field(g, "g.waitreason"))) if st == "waiting" else ""
            fr = vm_frames(g)
            where = "%s %s:%d" % fr[0] if fr else "?"
            mark = "*" if goid in running else " "
            print("%s %-5d %-9s %-24s %s" % (mark, goid, st, why, where))


class GoroutineCmd(gdb.Command):
    """goroutine N bt: the VM-level traceback of goroutine N, innermost
frame first, as greenvm prints it on a panic."""

    def __init__(self):
        super().__init__("goroutine", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        words = arg.split()
        if len(words) != 2 or words[1] != "bt" or not words[0].isdigit():
            raise gdb.GdbError("usage: goroutine N bt")
        g = find_g(int(words[0]))
        if g is None:
            raise gdb.GdbError("no goroutine %s" % words[0])
        st = gstatus_word(int(field(g, "g.status")))
        why = waitreason_word(int(field(g, "g.waitreason"))) if st == "waiting" else st
        print("goroutine %s [%s]:" % (words[0], why))
        for n, (fn, fname, line) in enumerate(vm_frames(g)):
            print("#%-2d %s() %s:%d" % (n, fn, fname, line))


def thread_sps():
    """pthread_t -> (LWP, current SP) of every thread of the inferior."""
    out = {}
    old = gdb.selected_thread()
    try:
        for th in gdb.selected_inferior().threads():
            th.switch()
            frame = gdb.newest_frame()
            sp = int(frame.read_register("sp"))
            handle = int.from_bytes(th.handle(), "little")
            out[handle] = (th.ptid[1], sp)
    finally:
        if old is not None:
            old.switch()
    return out


class InfoMs(gdb.Command):
    """info ms: every M: its thread, its g0 range and size, its current
stack pointer and which stack it is on, the runtime work on g0 if any,
its P and its G."""

    def __init__(self):
        super().__init__("info ms", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        sps = thread_sps()
        for m in all_ms():
            # newm puts an M on allm before the main thread maps its
            # stacks and starts its thread (sched_newosproc): say so
            # rather than show an empty g0
            lo, hi = int(field(m, "m.g0_lo")), int(field(m, "m.g0_hi"))
            if lo == 0:
                print("M%d  starting: its thread has not begun to run" % int(field(m, "m.id")))
                continue
            mlo, mhi = int(field(m, "m.mstack_lo")), int(field(m, "m.mstack_hi"))
            lwp, sp = sps.get(int(field(m, "m.thread")), (0, 0))
            if lo <= sp < hi:
                where = "on g0, %d bytes used" % (hi - sp)
                op = field(m, "m.op")
                if int(op) != 0:
                    where += " (%s)" % op.string()
            elif mlo <= sp < mhi:
                where = "on the M stack"
            else:
                where = "elsewhere (a signal stack?)" if sp else "no thread"
            p = field(m, "m.p")
            g = field(m, "m.curg")
            print("M%d  LWP %d  g0 [%#x, %#x) %d bytes  sp %#x %s  P: %s  G: %s" % (
                int(field(m, "m.id")), lwp, lo, hi, hi - lo, sp, where,
                "P%d" % int(field(p, "p.id")) if int(p) else "none",
                "G%d" % int(field(g, "g.goid")) if int(g) else "none"))


InfoGoroutines()
GoroutineCmd()
InfoMs()
print("greenvm-gdb: info goroutines, goroutine N bt, info ms")
