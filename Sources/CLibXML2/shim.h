// The only C that feedspool's XML module sees of libxml2.
#ifndef FEEDSPOOL_CLIBXML2_SHIM_H
#define FEEDSPOOL_CLIBXML2_SHIM_H

// Debian builds libxml2 with ICU. Its headers then pull in the system ICU, whose
// UErrorCode clashes with the ICU inside Foundation ("'UErrorCode' has different
// definitions in different modules"). We never use libxml2's ICU API, so turn the
// switch off before anything else is included.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/HTMLparser.h>
#include <libxml/HTMLtree.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlerror.h>
#include <libxml/entities.h>
#include <libxml/encoding.h>
#include <libxml/uri.h>

// xmlFree is a global function pointer; Swift cannot call it directly as a function.
static inline void fs_xml_free(void *p) { xmlFree(p); }

// libxml2 prints some errors (encoding conversion, I/O) to stderr whatever the
// NOERROR/NOWARNING options say. Its error handlers are per thread and the generic
// one is a C variadic, which Swift cannot define: these no-op handlers are installed
// on the calling thread before each parse. Errors are still recorded in the parser
// context, where the XML module reads them.
static void fs_xml_ignore_generic(void *ctx, const char *msg, ...) {
  (void)ctx;
  (void)msg;
}
static void fs_xml_ignore_structured(void *ctx, xmlErrorPtr error) {
  (void)ctx;
  (void)error;
}
static inline void fs_xml_silence_thread(void) {
  xmlSetGenericErrorFunc(NULL, fs_xml_ignore_generic);
  xmlSetStructuredErrorFunc(NULL, fs_xml_ignore_structured);
}

#endif
