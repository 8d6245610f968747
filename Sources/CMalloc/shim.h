// glibc's allocator settings (mallopt), seen only by the feedspool executable, which sets
// them once when the daemon starts.
#ifndef FEEDSPOOL_CMALLOC_SHIM_H
#define FEEDSPOOL_CMALLOC_SHIM_H

#include <malloc.h>

#endif
