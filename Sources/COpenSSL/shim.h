#ifndef PANGU_COPENSSL_SHIM_H
#define PANGU_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#endif
