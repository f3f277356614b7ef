// Must not compile: a float member has no field conversion. tests/CMakeLists.txt runs the
// compiler on this file and expects evcs's message naming the supported member types.
#include "evcs/typed.hpp"

struct Measurement {
  std::string label;
  float reading;
};
EVCS_ENTITY(Measurement, "measurement", label, reading)

int main() { return evcs::EntityMapping<Measurement>::to_fields({"x", 1.0f}).size() == 2 ? 0 : 1; }
