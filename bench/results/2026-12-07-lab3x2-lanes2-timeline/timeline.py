#!/usr/bin/env python3
# Per-bin use of one lab host's link from a tcpdump capture; see run.sh.
import sys, re, subprocess, collections
pcap, me = sys.argv[1], sys.argv[2]
binms = float(sys.argv[3]) if len(sys.argv) > 3 else 10
names = {'198.18.1.10':'uw1','198.18.1.11':'uw2','198.18.2.10':'sg1','198.18.2.11':'sg2','198.18.3.10':'fr1','198.18.3.11':'fr2'}
p = subprocess.run(['tcpdump','-r',pcap,'-tt','-n'],capture_output=True,text=True).stdout.splitlines()
rx = re.compile(r'^(\d+\.\d+) IP (\d+\.\d+\.\d+\.\d+)\.\d+ > (\d+\.\d+\.\d+\.\d+)\.\d+: .* length (\d+)')
ev = []
for l in p:
    m = rx.match(l)
    if not m: continue
    t, s, d, n = float(m[1]), m[2], m[3], int(m[4])
    if n == 0: continue
    ev.append((t, s, d, n))
# bursts: split where gap > 150 ms
bursts = []; cur = []
for e in ev:
    if cur and e[0] - cur[-1][0] > float(sys.argv[5]) if len(sys.argv)>5 else 0.15:
        bursts.append(cur); cur = []
    cur.append(e)
bursts.append(cur)
big = [b for b in bursts if sum(e[3] for e in b) > 1e6]
print(len(bursts), 'bursts,', len(big), 'big')
for bi, b in enumerate(big[-int(sys.argv[4]) if len(sys.argv)>4 else -2:]):
    t0 = b[0][0]
    dur = b[-1][0]-t0
    out = collections.Counter(); inn = collections.Counter()
    bins = collections.defaultdict(lambda: collections.Counter())
    for t, s, d, n in b:
        k = int((t - t0)*1000/binms)
        if s == me:
            out[names.get(d,d)] += n; bins[k]['o'+names.get(d,d)] += n; bins[k]['OUT'] += n
        elif d == me:
            inn[names.get(s,s)] += n; bins[k]['i'+names.get(s,s)] += n; bins[k]['IN'] += n
    print('burst dur %.1f ms out %s in %s' % (dur*1000, dict(out), dict(inn)))
    cap = 100e6/8*binms/1000
    for k in range(int(dur*1000/binms)+1):
        c = bins[k]
        print('%5d OUT %3d%% [%s]  IN %3d%% [%s]' % (k*binms, 100*c['OUT']/cap, ' '.join('%s:%d' % (x[1:], c[x]*100/cap) for x in sorted(c) if x.startswith('o')), 100*c['IN']/cap, ' '.join('%s:%d' % (x[1:], c[x]*100/cap) for x in sorted(c) if x.startswith('i'))))
print('--- first/last data per flow, per burst (ms from burst start)')
for b in big:
    t0 = b[0][0]; fl = {}
    for t, s, d, n in b:
        key = ('>' + names.get(d,d)) if s == me else ('<' + names.get(s,s))
        if key not in fl: fl[key] = [t, t, 0]
        fl[key][1] = t; fl[key][2] += n
    print('  '.join('%s %.0f-%.0f %dK' % (k, (v[0]-t0)*1000, (v[1]-t0)*1000, v[2]//1024) for k, v in sorted(fl.items()) if v[2] > 10000))
