# Builds on the Chain model beside the chain-middle results.
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '2026-12-08-lab3x2-chain-middle'))
from fluid_sim import *
def allreduce2(n=1<<20, K=8, shares=None, wintra=1.0):
    s=Sim(); L=2; piece=n/L
    shares=shares or {r:1/3 for r in REG}
    for r in REG:
        for j in range(L):
            s.weight[((r,1-j),(r,j))]=wintra
    hosts=[(r,j) for r in REG for j in range(L)]
    fin={h:0 for h in hosts}; need=L*K
    for j in range(L):
        for k in range(K):
            seg=piece/K
            # per segment: total finished at (r,j) when all 3 sub-pieces' totals there
            st={'tot':{r:0 for r in REG}}
            def subtot(r,j=j,st=st,seg=seg):
                st['tot'][r]+=1
                if st['tot'][r]==len(REG):
                    fin[(r,j)]+=1
                    s.send((r,j),(r,1-j),seg,lambda r=r,j=j: fin.__setitem__((r,1-j),fin[(r,1-j)]+1))
            for h in REG:   # hub of sub-piece h
                sub=seg*shares[h]
                cnt={'n':0}
                def hubgot(h=h,cnt=cnt,sub=sub,j=j,subtot=subtot):
                    cnt['n']+=1
                    if cnt['n']==len(REG):
                        subtot(h)
                        for r2 in REG:
                            if r2!=h: s.send((h,j),(r2,j),sub,lambda r2=r2: subtot(r2))
                for r in REG:
                    def rsum(r=r,h=h,hubgot=hubgot,sub=sub,j=j):
                        if r==h: hubgot()
                        else: s.send((r,j),(h,j),sub,hubgot)
                    # contribution of sub-piece from peer
                    s.send((r,1-j),(r,j),sub,rsum)
    return s.run(lambda: all(v>=need for v in fin.values()))
if __name__=='__main__':
    import sys
    n=int(sys.argv[1]) if len(sys.argv)>1 else 1<<20
    for K in (8,16):
      for w in (1.0,0.1):
        print(n,K,w,'lanes',round(allreduce('lanes',n=n,K=K,wintra=w)),'chain',round(allreduce('chain',n=n,K=K,orders=('W','S','F'),wintra=w)),'lanes2',round(allreduce2(n=n,K=K,wintra=w)))
