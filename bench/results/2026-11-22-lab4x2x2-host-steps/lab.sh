# The lab of this directory for bench/openmpi/lib.sh's lab_up: 4 regions
# x 2 hosts x 2 slots, uneven delays, 100 Mbit/s per host.
LAB4X2X2=(--regions us-west:2,us-east:2,eu-fra:2,ap-sg:2 --slots 2
  --delay us-west/us-east=35ms,us-west/eu-fra=75ms,us-west/ap-sg=85ms,us-east/eu-fra=45ms,us-east/ap-sg=110ms,eu-fra/ap-sg=80ms)
