// The decompressors behind HTTP Content-Encoding (gzip and deflate, br, zstd), seen only
// by feedspool's HTTP module. libcurl links the same libraries; feedspool decodes bodies
// itself so that it can read what libcurl's decoder refuses (multi-member gzip).
#ifndef FEEDSPOOL_CDECOMPRESS_SHIM_H
#define FEEDSPOOL_CDECOMPRESS_SHIM_H

#include <zlib.h>
#include <brotli/decode.h>
#include <zstd.h>

// inflateInit2 is a macro (it passes the zlib version and the stream's size).
static inline int fs_inflate_init(z_stream *z, int window_bits) {
  return inflateInit2(z, window_bits);
}

#endif
