// Must NOT compile: store/ sits below auth/.
#include "auth/token_service.hpp"
