# mkhex.py: writes the annotated tests/bad/*.gbc.hex images (run from the repo root: python3 tests/bad/mkhex.py)
import struct
def u32(v): return struct.pack('<I', v & 0xffffffff)
def image(name, consts, funcs, main, code, lines, fname, version=2, note='', externs=()):
    cs = u32(len(consts)) + b''.join(consts)
    fs = u32(len(funcs)) + u32(main)
    frec=[]
    for (np_, nl, ms, st, ln, line, nm) in funcs:
        frec.append(u32(np_)+u32(nl)+u32(ms)+u32(st)+u32(ln)+u32(line)+u32(len(nm))+nm.encode())
    fs += b''.join(frec)
    cd = b''.join(u32(w) for w in code)
    db = u32(len(fname)) + fname.encode() + b''.join(u32(l) for l in lines)
    # externs: (line, ret, [arg types], name, lib)
    xs = u32(len(externs)) + b''.join(
        u32(line) + u32(ret) + u32(len(args)) + b''.join(u32(t) for t in args) +
        u32(len(nm)) + nm.encode() + u32(len(lib)) + lib.encode()
        for (line, ret, args, nm, lib) in externs)
    hdr = (b'\x7fGBC' + u32(version) + u32(len(cs)) + u32(len(fs)) + u32(len(cd)) + u32(len(db)) +
           u32(len(xs)))
    out = ['# %s.gbc: %s' % (name, note), '# hex bytes; "#" starts a comment. Sections:']
    def dump(label, b, off):
        out.append('# %s (offset %d = 0x%x)' % (label, off, off))
        for i in range(0, len(b), 16):
            out.append(' '.join('%02x' % x for x in b[i:i+16]))
    off = 0
    for label, b in [('header', hdr), ('constants', cs), ('functions', fs), ('code', cd), ('debug', db),
                     ('externs', xs)]:
        dump(label, b, off); off += len(b)
    open('tests/bad/%s.gbc.hex' % name, 'w').write('\n'.join(out) + '\n')
INT=lambda v: u32(1)+struct.pack('<q', v)
# main: pushi 1; jmp 1 (into pushi's operand)
image('jump_into_operand', [], [(0,0,1,0,4,1,'main')], 0, [0x06,1,0x28,1], [2,2,3,3], 'j.gasm',
      note='jmp targets word 1, the operand of pushi')
image('const_out_of_range', [INT(5)], [(0,0,1,0,3,1,'main')], 0, [0x07,1,0x2c], [2,2,3], 'c.gasm',
      note='const 1 with one constant in the pool')
image('local_out_of_range', [], [(0,1,1,0,3,1,'main')], 0, [0x08,1,0x2c], [2,2,3], 'l.gasm',
      note='load 1 in a function with one local')
image('upper_bits', [], [(0,0,1,0,2,1,'main')], 0, [0x105,0x2c], [2,3], 'u.gasm',
      note='opcode word 0x105: pushnil with a bit set above the low 8')
image('unknown_opcode', [], [(0,0,1,0,2,1,'main')], 0, [0x05,0xee], [2,3], 'o.gasm',
      note='opcode 0xee is not in the table')
image('maxstack_too_small', [], [(0,0,1,0,6,1,'main')], 0, [0x06,1,0x06,2,0x10,0x2c], [2,2,3,3,4,5], 'm.gasm',
      note='declares maxstack 1 but pushes two values')
image('future_version', [], [(0,0,1,0,2,1,'main')], 0, [0x05,0x2c], [2,3], 'v.gasm', version=3,
      note='a format version this greenvm does not know')
image('functions_overlap', [], [(0,0,1,0,2,1,'main'),(0,0,1,1,1,5,'g')], 0, [0x05,0x2c], [2,3], 'f.gasm',
      note='g claims to start at word 1, inside main')
image('call_out_of_range', [], [(0,0,1,0,3,1,'main')], 0, [0x2b,3,0x2c], [2,2,3], 'k.gasm',
      note='call 3 with one function')
# C types: 0 void, 1 int, 2 long, 3 double, 4 ptr, 5 string; ffi is opcode 0x70
image('extern_out_of_range', [], [(0,0,1,0,3,1,'main')], 0, [0x70,1,0x2c], [2,2,3], 'x.gasm',
      externs=[(1,1,[],'getpid','libc')], note='ffi 1 with one extern')
image('extern_void_argument', [], [(0,0,1,0,2,2,'main')], 0, [0x05,0x2c], [3,4], 'x.gasm',
      externs=[(1,0,[1,0],'f','libc')], note='an extern whose second argument is void')
image('extern_duplicate', [], [(0,0,1,0,2,3,'main')], 0, [0x05,0x2c], [4,5], 'x.gasm',
      externs=[(1,1,[],'getpid','libc'),(2,2,[5],'getpid','libc')], note='two externs named getpid')
image('ffi_underflow', [], [(0,0,2,0,5,2,'main')], 0, [0x06,1,0x70,0,0x2c], [3,3,4,4,5], 'x.gasm',
      externs=[(1,1,[1,1],'f','libc')], note='ffi f takes two arguments, the stack holds one')
image('depth_mismatch_gbc', [], [(0,0,2,0,7,2,'main')], 0, [0x4a,0x29,5,0x06,1,0x05,0x2c],
      [3,4,4,5,5,7,8], 'depth_mismatch.gasm',
      note='depth_mismatch.gasm as a .gbc: no labels, so the places are code words')
