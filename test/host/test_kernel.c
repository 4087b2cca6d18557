/* The kernel alone (host/kernel/, linked without the services and views): a
 * C service type registered by the test, messages delivered, a mailbox's
 * backlog dropped through the drop function when its service goes (the
 * waiting caller gets PTYPE_ERROR), and the exit report handed to the note
 * hook instead of stdout. Linking this program is itself the check that the
 * kernel calls nothing above it. */

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kernel.h"
#include "skynet_malloc.h"
#include "test_util.h"

#define WAIT_MS 20000

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int gate_open, blocked;      /* the gated service holds its worker until the gate opens */
	int texts, errors, error_session;
	char note[256];
} K = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static int probe_cb(struct skynet_context *ctx, void *ud, int type, int session,
	uint32_t source, const void *msg, size_t sz) {
	(void)ctx, (void)source, (void)msg, (void)sz;
	pthread_mutex_lock(&K.lock);
	if (type == PTYPE_TEXT)
		K.texts++;
	if (type == PTYPE_ERROR) {
		K.errors++;
		K.error_session = session;
	}
	if (ud && type == PTYPE_TEXT) {   /* the gated one: wait for the gate */
		K.blocked = 1;
		pthread_cond_broadcast(&K.cond);
		while (!K.gate_open)
			pthread_cond_wait(&K.cond, &K.lock);
	}
	pthread_cond_broadcast(&K.cond);
	pthread_mutex_unlock(&K.lock);
	return 0;
}

static void *probe_create(void) {
	return skynet_malloc(1);
}

static int probe_init(void *inst, struct skynet_context *ctx, const char *param) {
	(void)inst;
	skynet_callback(ctx, strcmp(param, "gated") == 0 ? (void *)1 : NULL, probe_cb);
	return 0;
}

static void probe_release(void *inst) {
	skynet_free(inst);
}

static const struct skynet_module probe_module = { "probe", probe_create, probe_init, probe_release, NULL };

static int note_hook(const char *line) {
	pthread_mutex_lock(&K.lock);
	if (strstr(line, "[exit]") && strstr(line, "probe"))
		snprintf(K.note, sizeof(K.note), "%s", line);
	pthread_cond_broadcast(&K.cond);
	pthread_mutex_unlock(&K.lock);
	return 1;   /* kept: nothing on stdout */
}

/* Waits (with a deadline) until *v reaches want; K.lock held. */
static void wait_for(int *v, int want) {
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_MS / 1000;
	while (*v < want)
		if (pthread_cond_timedwait(&K.cond, &K.lock, &until) != 0)
			break;
	assert_true(*v >= want);
}

static void backlog_dropped_with_an_error_reply(void **state) {
	(void)state;
	struct host_config cfg = { .threads = 2 };
	assert_int_equal(config_set(&cfg), 0);
	host_set_note_hook(note_hook);
	assert_int_equal(host_module_register(&probe_module), 0);
	assert_int_equal(kernel_start(cfg.threads), 0);
	uint32_t caller = host_launch("probe", "");
	uint32_t gated = host_launch("probe", "gated");
	assert_int_not_equal(caller, 0);
	assert_int_not_equal(gated, 0);

	/* The gated service takes its first message and holds its worker. */
	assert_true(skynet_send_copy(NULL, gated, PTYPE_TEXT, 0, "a", 1) >= 0);
	pthread_mutex_lock(&K.lock);
	wait_for(&K.blocked, 1);
	pthread_mutex_unlock(&K.lock);
	/* A call from caller waits in its mailbox; the service is retired. */
	assert_int_equal(skynet_send(NULL, caller, gated, PTYPE_TEXT, 42, NULL, 0), 42);
	assert_int_equal(host_exit_service(gated), 0);
	assert_int_equal(host_exit_service(gated), -1);   /* gone from the registry */
	pthread_mutex_lock(&K.lock);
	K.gate_open = 1;
	pthread_cond_broadcast(&K.cond);
	/* Its last reference goes with the dispatch: the backlog is dropped
	 * (mq's drop function) and the caller answered with an error. */
	wait_for(&K.errors, 1);
	assert_int_equal(K.error_session, 42);
	assert_int_equal(K.texts, 1);
	pthread_mutex_unlock(&K.lock);

	kernel_stop();   /* releases caller: its exit report goes to the hook too */
	host_set_note_hook(NULL);
	config_clear();
	assert_non_null(strstr(K.note, "[exit] :"));
	assert_non_null(strstr(K.note, " clean"));
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(backlog_dropped_with_an_error_reply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
