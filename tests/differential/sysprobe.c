/* The differential tier's syscall probe (compiled with gcc -static by the tests): calls a
 * fixed list of syscalls with arguments that cannot change anything (NULL pointers, bad
 * fds) and prints what each returned, so a seccomp profile's actions (EPERM, ENOSYS for a
 * syscall newer than the profile, a kill) are observed the same way under both runtimes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct probe { const char *name; long nr; long a, b, c, d; };

int main(void) {
    static const struct probe probes[] = {
        {"getpid", 39, 0, 0, 0, 0},
        {"mkdir(NULL)", 83, 0, 0, 0, 0},
        {"chmod(NULL)", 90, 0, 0, 0, 0},
        {"mount(NULL)", 165, 0, 0, 0, 0},
        {"personality(query)", 135, 0xffffffffL, 0, 0, 0},
        {"unshare(0)", 272, 0, 0, 0, 0},
        {"clone3(NULL)", 435, 0, 0, 0, 0},
        {"faccessat2(-1)", 439, -1, 0, 0, 0},
        {"epoll_pwait2(-1)", 441, -1, 0, 0, 0},
        {"landlock_restrict_self(-1)", 446, -1, 0, 0, 0},
        {"process_mrelease(-1)", 448, -1, 0, 0, 0},
        {"cachestat(-1)", 451, -1, 0, 0, 0},
        {"fchmodat2(-1)", 452, -1, 0, 0, 0},
        {"nr 1000", 1000, 0, 0, 0, 0},
    };
    for (unsigned i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        const struct probe *p = &probes[i];
        errno = 0;
        long r = syscall(p->nr, p->a, p->b, p->c, p->d);
        if (r < 0)
            printf("%s: -1 %s\n", p->name, strerror(errno));
        else
            printf("%s: ok\n", p->name);
        fflush(stdout);
    }
    return 0;
}
