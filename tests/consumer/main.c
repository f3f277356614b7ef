#include <evcs/evcs.h>

#include <stdio.h>

int main(void) {
  evcs_engine *engine = NULL;
  evcs_session *session = NULL;
  evcs_result *result = NULL;
  int64_t answer = -1;
  if (evcs_engine_open(&engine, NULL) != EVCS_OK ||
      evcs_session_open(&session, engine, NULL, NULL) != EVCS_OK ||
      evcs_session_execute(&result, session, "SELECT 6 * 7", NULL) != EVCS_OK ||
      evcs_result_get_int64(&answer, result, 0, 0) != EVCS_OK) {
    fprintf(stderr, "%s\n", evcs_error_last_message());
    return 1;
  }
  printf("%lld\n", (long long)answer);
  evcs_result_free(result);
  evcs_session_free(session);
  evcs_engine_free(engine);
  return answer == 42 ? 0 : 1;
}
