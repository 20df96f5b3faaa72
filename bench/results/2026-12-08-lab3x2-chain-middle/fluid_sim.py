# Fluid simulator of allreduce schedules on the 3x2 lab (per-host egress and
# ingress at B, per-connection fair share with weights, FIFO per connection).
import heapq, itertools, sys
B = 100e6/8/1000.0        # bytes per ms
D = {('W','S'):40,('W','F'):90,('S','F'):70}
def delay(a,b):
    if a==b: return 0.3
    return D.get((a,b)) or D[(b,a)]
REG=['W','S','F']
class Msg:
    __slots__=('src','dst','size','left','inflight','got','cb','ready','w')
class Sim:
    def __init__(s, dt=0.02):
        s.dt=dt; s.t=0.0; s.conns={}  # (src,dst)->list of msgs (FIFO)
        s.pipe=[]; s.cnt=itertools.count(); s.ing={}; s.pending=[]
        s.weight={}
    def send(s, src, dst, size, cb=None):
        m=Msg(); m.src=src; m.dst=dst; m.size=size; m.left=size; m.got=0; m.cb=cb
        s.conns.setdefault((src,dst),[]).append(m)
    def run(s, done, tmax=2000):
        while not done() and s.t<tmax:
            # egress
            hosts={}
            for (a,b),q in s.conns.items():
                if q: hosts.setdefault(a,[]).append((a,b))
            for h,cs in hosts.items():
                budget=B*s.dt
                active=list(cs)
                while budget>1e-9 and active:
                    W=sum(s.weight.get(c,1.0) for c in active)
                    nxt=[]; used=0
                    for c in active:
                        share=budget*s.weight.get(c,1.0)/W
                        q=s.conns[c]; give=share
                        while give>1e-9 and q:
                            m=q[0]; x=min(give,m.left); m.left-=x; give-=x; used+=x
                            heapq.heappush(s.pipe,(s.t+s.dt+delay(c[0][0],c[1][0]),next(s.cnt),m,x))
                            if m.left<=1e-9: q.pop(0)
                        if q: nxt.append(c)
                    budget-=used
                    if used<1e-9: break
                    active=nxt
            s.t+=s.dt
            while s.pipe and s.pipe[0][0]<=s.t+1e-12:
                _,_,m,x=heapq.heappop(s.pipe)
                s.ing.setdefault(m.dst,[]).append([m,x])
            for h,q in s.ing.items():
                budget=B*s.dt
                while budget>1e-9 and q:
                    m,x=q[0]; y=min(x,budget); budget-=y; q[0][1]-=y; m.got+=y
                    if q[0][1]<=1e-9: q.pop(0)
                    if m.got>=m.size-1e-6 and m.cb:
                        cb=m.cb; m.cb=None; cb()
        return s.t

def allreduce(kind, n=1<<20, K=8, orders=None, wintra=1.0, fracs=None):
    s=Sim(); L=2; piece=n/L
    hosts=[(r,j) for r in REG for j in range(L)]
    for r in REG:
        for j in range(L):
            s.weight[((r,1-j),(r,j))]=wintra
    finals={h:0 for h in hosts}; need=L*K*(1 if fracs is None else len(fracs))
    # sub-pipelines: list of (fraction, kind, order)
    subs = fracs or [(1.0,kind,orders)]
    for (f,kd,order) in subs:
        seg=piece*f/K
        for j in range(L):
            for k in range(K):
                st={}
                def fin(r,j=j,st=st,seg=seg):
                    finals[(r,j)]+=1
                    s.send((r,j),(r,1-j),seg,lambda r=r,j=j: finals.__setitem__((r,1-j),finals[(r,1-j)]+1))
                if kd=='lanes':
                    cnt={r:0 for r in REG}
                    def got(r,cnt=cnt,fin=fin):
                        cnt[r]+=1
                        if cnt[r]==len(REG): fin(r)
                    def rsum(r,j=j,got=got,seg=seg):
                        got(r)
                        for r2 in REG:
                            if r2!=r: s.send((r,j),(r2,j),seg,lambda r2=r2: got(r2))
                    for r in REG:
                        s.send((r,1-j),(r,j),seg,lambda r=r,rsum=rsum: rsum(r))
                elif kd=='chain':
                    c0,c1,c2=order
                    stt={'c1sum':False,'c1fwd':False,'c2sum':False,'c2fwd':False,'c1got2':False,'done1':False}
                    def c1tot(stt=stt,fin=fin,j=j,c0=c0,c1=c1,seg=seg):
                        if stt['c1fwd'] and stt['c1got2'] and not stt['done1']:
                            stt['done1']=True; fin(c1)
                            s.send((c1,j),(c0,j),seg,lambda: fin(c0))
                    def c1fwd(stt=stt,c1tot=c1tot,j=j,c1=c1,c2=c2,fin=fin,seg=seg):
                        stt['c1fwd']=True
                        def at2():
                            stt['c2fwd']=True
                            if stt['c2sum']: fin(c2)
                        s.send((c1,j),(c2,j),seg,at2); c1tot()
                    got0={'n':0}
                    def c1part(got0=got0,c1fwd=c1fwd):
                        got0['n']+=1
                        if got0['n']==2: c1fwd()
                    def c0sum(j=j,c0=c0,c1=c1,c1part=c1part,seg=seg):
                        s.send((c0,j),(c1,j),seg,c1part)
                    def c2sum(stt=stt,j=j,c1=c1,c2=c2,fin=fin,c1tot=c1tot,seg=seg):
                        stt['c2sum']=True
                        def at1():
                            stt['c1got2']=True; c1tot()
                        s.send((c2,j),(c1,j),seg,at1)
                        if stt['c2fwd']: fin(c2)
                    s.send((c0,1-j),(c0,j),seg,c0sum)
                    s.send((c1,1-j),(c1,j),seg,c1part)
                    s.send((c2,1-j),(c2,j),seg,c2sum)
    def done():
        return all(v>=need for v in finals.values())
    return s.run(done)
if __name__=='__main__':
    print('lanes', allreduce('lanes'))
    print('chain WSF', allreduce('chain',orders=('W','S','F')))
