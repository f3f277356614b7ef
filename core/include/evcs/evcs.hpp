// The C++ API of evcs in one include: engine, sessions, transactions, results, errors, typed
// entity access.
#pragma once

#include "evcs/columns.hpp"
#include "evcs/embedded.hpp"
#include "evcs/engine.hpp"
#include "evcs/error.hpp"
#include "evcs/params.hpp"
#include "evcs/pool.hpp"
#include "evcs/result.hpp"
#include "evcs/session.hpp"
#include "evcs/typed.hpp"
