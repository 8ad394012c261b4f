"""perf-fold.py PERF_SCRIPT_TEXT [EVENT_SUBSTR] : folded stacks (root first) with generic
parameters stripped and the scheduler's frames below the task's poll cut, for
inferno-flamegraph."""
import re, sys, collections
text = open(sys.argv[1], errors='replace').read()
want = sys.argv[2] if len(sys.argv) > 2 else ''
cut = re.compile(r'tokio::runtime::task::harness::Harness::poll$|Core::poll$')
out = collections.Counter()
def clean(f):
    f = re.sub(r'\+0x[0-9a-f]+$', '', f)
    for _ in range(10):
        f = re.sub(r'<([^<>]*?) as [^<>]*>', r'\1', f)
        f = re.sub(r'<(?![^<>]* as )[^<>]*>', '', f)
    return f.replace(' (inlined)', '').replace(';', ',')[:120]
for block in text.split('\n\n'):
    lines = block.strip('\n').split('\n')
    if not lines or not lines[0].strip(): continue
    head = lines[0]
    if want and want not in head: continue
    ev = re.search(r'(syscalls:sys_enter_\w+|cpu-clock\S*)', head)
    ev = ev.group(1).replace('syscalls:sys_enter_', '') if ev else 'cpu'
    frames = []
    for l in lines[1:]:
        mm = re.match(r'\s*[0-9a-f]+ (.*) \(', l)
        if mm: frames.append(clean(mm.group(1)))
    frames.reverse()  # root first
    idx = max((i for i, f in enumerate(frames) if cut.search(f)), default=-1)
    # keep the task's own frames (after the last harness poll), skipping duplicate plumbing
    frames = frames[idx + 1:] if idx >= 0 else frames
    frames = [f for i, f in enumerate(frames) if i == 0 or f != frames[i - 1]]
    out[';'.join([ev] + frames)] += 1
for k, v in out.items(): print(k, v)
