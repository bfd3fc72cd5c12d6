# The differential tier's probe: what the container sees, one section per field.
# Run by busybox sh as the container's process.  Files of the process itself are read
# with the shell's own `read` (a child's /proc/self would show the child's credentials,
# which an execve changes when capabilities are not ambient).
HOLD="$1"
s() { echo "=== $1 ==="; }
dump() { while IFS= read -r l || [ -n "$l" ]; do echo "$l"; done < "$1"; }
s pid; echo $$
s ids; id -u; id -g; id -G
s cwd; pwd
s env; env | sort
s umask; umask
s hostname; hostname; dump /proc/sys/kernel/hostname; dump /proc/sys/kernel/domainname
s status; dump /proc/$$/status | grep -E '^(Cap|NoNewPrivs|Seccomp|Groups|Uid|Gid)'
s limits; dump /proc/$$/limits
s oom_score_adj; dump /proc/$$/oom_score_adj
s sched; ionice -p $$ 2>&1; read -r st < /proc/$$/stat; set -- ${st##*) }; shift 37; echo "rt_priority=$1 policy=$2"
s affinity; dump /proc/$$/status | grep -E '^(Cpus|Mems)_allowed_list'
s personality; dump /proc/$$/personality 2>&1
s lsm; dump /proc/$$/attr/current 2>&1
s stdio; for n in 0 1 2; do echo "$n $(readlink /proc/$$/fd/$n)"; done
s fds; for f in /proc/$$/fd/*; do printf '%s ' "${f##*/}"; done; echo
s tty; if tty -s; then stat -c '%n %a %u %g' "$(tty)"; else echo none; fi
s mountinfo; dump /proc/$$/mountinfo
s dev; for f in /dev/* /dev/pts/* /dev/mqueue /dev/shm; do [ -e "$f" ] || [ -L "$f" ] && stat -c '%n %A %u %g %t:%T %N' "$f"; done
s rootfs; if touch /.probe-w 2>/dev/null; then rm -f /.probe-w; echo writable; else echo readonly; fi
s net; while read -r l; do case "$l" in *:*) echo "${l%%:*}";; esac; done < /proc/net/dev
s cgroup; dump /proc/$$/cgroup
s cgroupfs; ls /sys/fs/cgroup 2>&1 | tr '\n' ' '; echo
for d in /sys/fs/cgroup /sys/fs/cgroup/*; do
  [ -d "$d" ] || continue
  for f in cgroup.procs.count memory.limit_in_bytes memory.soft_limit_in_bytes memory.memsw.limit_in_bytes \
      memory.swappiness memory.oom_control memory.kmem.tcp.limit_in_bytes cpu.shares cpu.cfs_quota_us \
      cpu.cfs_period_us cpu.rt_runtime_us cpu.rt_period_us cpuset.cpus cpuset.mems pids.max blkio.weight \
      blkio.leaf_weight devices.list freezer.state cgroup.controllers cgroup.subtree_control memory.max \
      cpu.max pids.max release_agent; do
    [ -r "$d/$f" ] && echo "$d/$f: $(tr '\n' ' ' < "$d/$f" 2>&1)"
  done
done
s sysctl; for f in net/ipv4/ip_forward net/ipv4/ping_group_range kernel/shmmax kernel/msgmax \
    kernel/sem net/core/somaxconn kernel/pid_max fs/mqueue/msg_max; do
  echo "$f: $(cat /proc/sys/$f 2>&1)"; done
s procs; ps -o user,comm 2>&1
s writable; for p in /proc/sys /proc/sys/kernel/hostname /sys /sys/fs/cgroup /dev /dev/shm /tmp; do
  if [ -w "$p" ]; then echo "$p w"; else echo "$p -"; fi; done
if [ -x /sysprobe ]; then s syscalls; /sysprobe; fi
if [ -r /probe.extra ]; then
  while read -r f; do s "extra $f"; cat "$f" 2>&1; done < /probe.extra
fi
s end
if [ "$HOLD" = hold ]; then exec sleep 600; fi
