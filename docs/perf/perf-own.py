"""perf-own.py FOLDED...: share of CPU samples spent in mcp-sse-resume's own code
(and what it calls: store, allocator, tokio), not in the handler it wraps:
samples whose deepest mcp_sse_resume frame has no handler (rmcp, mcp_server,
sse_stream) frame below it. Grouped by that deepest frame."""
import sys, re, collections
handler = re.compile(r'^(rmcp::|mcp_server::|sse_stream::|serde_json::)')
for path in sys.argv[1:]:
    total = 0; own = collections.Counter()
    for line in open(path):
        stack, n = line.rstrip().rsplit(' ', 1); n = int(n); total += n
        frames = stack.split(';')
        idx = [i for i, f in enumerate(frames) if f.startswith('mcp_sse_resume::')]
        if not idx: continue
        below = frames[idx[-1] + 1:]
        if any(handler.match(f) for f in below): continue
        own[frames[idx[-1]]] += n
    s = sum(own.values())
    print(f"{path}: {total} samples, sse-resume's own {s} = {s/total*100:.1f}%")
    for k, v in own.most_common(12): print(f"   {v/total*100:5.1f}%  {k}")
