// libpsl: the Public Suffix List, to find the registrable domain of a host
// (provider.domain in the article file). Used only by the Articles module.
#ifndef FEEDSPOOL_CPSL_SHIM_H
#define FEEDSPOOL_CPSL_SHIM_H
#include <libpsl.h>
#endif
