// Must NOT compile: http/ is the transport and may not see the product (api/).
#include "api/services.hpp"
