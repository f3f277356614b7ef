#include <evcs/evcs.hpp>

#include <cstdio>

int main() {
  evcs::Engine engine;
  auto session = engine.session();
  auto answer = session.scalar<std::int64_t>("SELECT $1::int8 * 2", evcs::Params::of(21));
  session.commit();
  std::printf("%lld\n", static_cast<long long>(answer.value_or(-1)));
  return answer == 42 ? 0 : 1;
}
