import re, collections, sys
# perf-stacks.py PERF_SCRIPT_TEXT EVENT_SUBSTR SKIP TAKE [N] [REQUESTS]: the N most common
# stacks of one event (e.g. sys_enter_write), frames SKIP..SKIP+TAKE counted from the leaf,
# with counts per request. Used to find what made each eventfd write.
text=open(sys.argv[1],errors='replace').read()
ev, skip, take = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
N = int(sys.argv[5]) if len(sys.argv) > 5 else 8
req = float(sys.argv[6]) if len(sys.argv) > 6 else 0
c=collections.Counter(); tot=0
for block in text.split('\n\n'):
    lines=block.strip('\n').split('\n')
    if ev not in lines[0]: continue
    tot+=1
    fr=[]
    for l in lines[1:]:
        m=re.match(r'\s*[0-9a-f]+ (.*) \(',l)
        if m:
            f=re.sub(r'\+0x[0-9a-f]+$','',m.group(1))
            for _ in range(6): f=re.sub(r'<[^<>]*>','',f)
            fr.append(f.replace(' (inlined)','')[:110])
    c['\n    '.join(fr[skip:skip+take])]+=1
print(tot, 'events', f'{tot/req:.2f}/request' if req else '')
for k,v in c.most_common(N): print(v, f'({v/req:.2f}/req)' if req else '', '\n    '+k, '\n')
