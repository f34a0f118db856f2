/* libpol — library and spec versions.
 *
 * POL_VERSION_* describe the headers a program was compiled against;
 * pol_version() the library it runs against. A program can compare the two. */
#ifndef POL_VERSION_H
#define POL_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

#define POL_VERSION_MAJOR 0
#define POL_VERSION_MINOR 1
#define POL_VERSION_PATCH 0
#define POL_VERSION_STRING "0.1.0"
/* The version number packed for comparisons: MAJOR*10000 + MINOR*100 + PATCH. */
#define POL_VERSION_NUMBER (POL_VERSION_MAJOR * 10000 + POL_VERSION_MINOR * 100 + POL_VERSION_PATCH)

/* Version of the normative numerics and encodings (spec/). Two
 * implementations with the same spec version produce the same state hashes. */
#define POL_SPEC_VERSION 1

/* The library's POL_VERSION_NUMBER. */
int pol_version(void);
/* The library's POL_VERSION_STRING. */
const char *pol_version_string(void);

#ifdef __cplusplus
}
#endif
#endif /* POL_VERSION_H */
