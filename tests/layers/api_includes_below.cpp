// Must compile: api/ may use every layer below it.
#include "api/services.hpp"
#include "auth/token_service.hpp"
#include "config/settings.hpp"
#include "http/handler.hpp"
#include "obs/metrics.hpp"
#include "store/store.hpp"
#include "util/result.hpp"
