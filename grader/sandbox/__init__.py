"""Running untrusted code: isolation tiers, bubblewrap, cgroups, seccomp, the fork server, doctor.

    isolation.py       what each tier is (`Isolation`)
    tiers.py           which tier this machine gives (probed once per process)
    bwrap.py           bubblewrap's command line: what the sandbox sees
    launcher.py        the first process of a run: cgroups, rlimits[, uid, seccomp]
    process.py         one cold run: limits, bounded output, wall clock, kill-all, cleanup
    cgroups.py         one cgroup per run: memory and process limits, the OOM verdict
    seccomp_filter.py  the syscall filter (libseccomp)
    forkserver.py      warm runs: one sandboxed fork server per worker (its inside: grader.harness.zygote)
    doctor.py          `grader doctor`
"""
