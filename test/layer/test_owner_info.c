/* Owner names (skynet_mem_set_name) and the host's mailbox figures
 * (skynet_mem_set_queue_reader) in skynet_mem_stat and skynet_mem_foreach. */

#include <string.h>

#include "skynet_malloc.h"
#include "test_util.h"

static void name_is_copied_and_cleared(void **state) {
	(void)state;
	const uint32_t h = 0x02000001u;
	char given[32] = "snlua agent";
	assert_int_equal(skynet_mem_set_name(h, given), 0);
	strcpy(given, "changed");   /* the record keeps its own copy */
	assert_string_equal(stat_of(h).name, "snlua agent");
	assert_int_equal(skynet_mem_set_name(h, ".launcher"), 0);
	assert_string_equal(stat_of(h).name, ".launcher");
	assert_int_equal(skynet_mem_set_name(h, NULL), 0);
	assert_string_equal(stat_of(h).name, "");
	assert_int_equal(skynet_mem_set_name(h, "x"), 0);
	assert_int_equal(skynet_mem_set_name(h, ""), 0);
	assert_string_equal(stat_of(h).name, "");
}

static void long_names_cut_at_a_character(void **state) {
	(void)state;
	const uint32_t h = 0x02000002u;
	char name[200];
	/* 62 ASCII bytes, then a 3-byte character across the 63-byte bound. */
	memset(name, 'a', 62);
	strcpy(name + 62, "\xe2\x82\xac tail");
	assert_int_equal(skynet_mem_set_name(h, name), 0);
	struct skynet_mem_stat st = stat_of(h);
	assert_int_equal(strlen(st.name), 62);
	assert_memory_equal(st.name, name, 62);
	/* 61 then the same: it fits whole, 64 bytes would not. */
	memset(name, 'b', 60);
	strcpy(name + 60, "\xe2\x82\xac tail");
	assert_int_equal(skynet_mem_set_name(h, name), 0);
	st = stat_of(h);
	assert_int_equal(strlen(st.name), 63);
	assert_memory_equal(st.name, name, 63);
	/* Plain ASCII past the bound: the first 63 bytes. */
	memset(name, 'c', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(skynet_mem_set_name(h, name), 0);
	assert_int_equal(strlen(stat_of(h).name), SKYNET_MEM_NAME_MAX - 1);
}

static void control_characters_are_shown_as_question_marks(void **state) {
	(void)state;
	const uint32_t h = 0x02000003u;
	assert_int_equal(skynet_mem_set_name(h, "a\nb\tc\x7f"), 0);
	assert_string_equal(stat_of(h).name, "a?b?c?");
}

/* A name survives the exit and is in the leftover report. */
static void exit_reports_the_name(void **state) {
	(void)state;
	const uint32_t h = 0x02000004u;
	skynet_mem_set_current(h);
	void *p = skynet_malloc(100);
	skynet_mem_set_current(0);
	assert_int_equal(skynet_mem_set_name(h, "snlua leaker"), 0);
	struct skynet_mem_stat left;
	skynet_mem_service_exit(h, &left);
	assert_string_equal(left.name, "snlua leaker");
	assert_int_equal(left.blocks, 1);
	assert_string_equal(stat_of(h).name, "snlua leaker");
	skynet_free(p);
}

static uint32_t asked_handle;
static int reader(uint32_t handle, size_t *bytes, size_t *msgs) {
	asked_handle = handle;
	if (handle == 0x02000006u)
		return -1;
	*bytes = handle & 0xff;
	*msgs = 3;
	return 0;
}

struct seen {
	int found;
	size_t queued, msgs;
};
static int find_5(const struct skynet_mem_stat *st, void *ud) {
	struct seen *s = ud;
	if (st->handle == 0x02000005u) {
		s->found++;
		s->queued = st->queued;
		s->msgs = st->queued_msgs;
	}
	return 0;
}

static void queue_reader_fills_queued(void **state) {
	(void)state;
	const uint32_t h = 0x02000005u, none = 0x02000006u;
	assert_int_equal(skynet_mem_set_name(h, "q"), 0);
	assert_int_equal(skynet_mem_set_name(none, "no mailbox"), 0);
	struct skynet_mem_stat st = stat_of(h);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.queued_msgs, 0);
	skynet_mem_set_queue_reader(reader);
	st = stat_of(h);
	assert_int_equal(asked_handle, h);
	assert_int_equal(st.queued, 5);
	assert_int_equal(st.queued_msgs, 3);
	st = stat_of(none);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.queued_msgs, 0);
	struct seen s = { 0 };
	skynet_mem_foreach(find_5, &s);
	assert_int_equal(s.found, 1);
	assert_int_equal(s.queued, 5);
	assert_int_equal(s.msgs, 3);
	skynet_mem_set_queue_reader(NULL);
	assert_int_equal(stat_of(h).queued, 0);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(name_is_copied_and_cleared),
		cmocka_unit_test(long_names_cut_at_a_character),
		cmocka_unit_test(control_characters_are_shown_as_question_marks),
		cmocka_unit_test(exit_reports_the_name),
		cmocka_unit_test(queue_reader_fills_queued),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
