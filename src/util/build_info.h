/* What proctrack was built from, for -version and proctrack_build_info: the version, and the
 * revision and branch of the source (from git, or given to cmake as PROCTRACK_REVISION and
 * PROCTRACK_BRANCH; "unknown" otherwise), and the compiler. */
#ifndef PROCTRACK_UTIL_BUILD_INFO_H
#define PROCTRACK_UTIL_BUILD_INFO_H

extern const char proctrack_version[];
extern const char proctrack_revision[];
extern const char proctrack_branch[];

/* The compiler, as `gcc 12.2.0` or `clang 14.0.6`: what Go exporters label goversion. */
#define PROCTRACK_STR_(x) #x
#define PROCTRACK_STR(x) PROCTRACK_STR_(x)
#if defined(__clang__)
#define PROCTRACK_COMPILER                                                                         \
    "clang " PROCTRACK_STR(__clang_major__) "." PROCTRACK_STR(__clang_minor__) "." PROCTRACK_STR(  \
        __clang_patchlevel__)
#elif defined(__GNUC__)
#define PROCTRACK_COMPILER                                                                         \
    "gcc " PROCTRACK_STR(__GNUC__) "." PROCTRACK_STR(__GNUC_MINOR__) "." PROCTRACK_STR(            \
        __GNUC_PATCHLEVEL__)
#else
#define PROCTRACK_COMPILER "unknown"
#endif

#endif /* PROCTRACK_UTIL_BUILD_INFO_H */
