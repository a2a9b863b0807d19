/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* retry.h: which failed policy writes are tried again and when, and the node-link poll. */
#include <errno.h>

#include "macro.h"
#include "retry.h"
#include "test-util.h"
#include "time-util.h"

TEST(classify_write)
{
        static const int gone[] = {ENOENT, ENODEV};
        static const int permanent[] = {EINVAL, EHWPOISON, EPERM, EACCES, EROFS, ECANCELED};
        /* What the kernel answers while it cannot online now: migration, allocation, a
         * deadline of ours, an interrupted write. */
        static const int transient[] = {EBUSY, ENOMEM, EAGAIN, ETIMEDOUT, EINTR, EIO, ENOSPC};

        for (size_t i = 0; i < ELEMENTSOF(gone); i++)
                ASSERT_EQ(retry_classify_write(-gone[i]), WRITE_FAILURE_GONE);
        for (size_t i = 0; i < ELEMENTSOF(permanent); i++)
                ASSERT_EQ(retry_classify_write(-permanent[i]), WRITE_FAILURE_PERMANENT);
        for (size_t i = 0; i < ELEMENTSOF(transient); i++)
                ASSERT_EQ(retry_classify_write(-transient[i]), WRITE_FAILURE_TRANSIENT);
}

TEST(write_backoff)
{
        /* Three retries, 1, 2 and 4 s after the failures; then the block is left alone. */
        ASSERT_EQ(retry_write_delay_usec(-EBUSY, 0), 1 * USEC_PER_SEC);
        ASSERT_EQ(retry_write_delay_usec(-EBUSY, 1), 2 * USEC_PER_SEC);
        ASSERT_EQ(retry_write_delay_usec(-ETIMEDOUT, 2), 4 * USEC_PER_SEC);
        ASSERT_EQ(retry_write_delay_usec(-EBUSY, RETRY_WRITE_MAX), 0);
        ASSERT_EQ(retry_write_delay_usec(-EBUSY, 255), 0);
        ASSERT_EQ(RETRY_WRITE_MAX, 3);
        /* Nothing to retry for what would fail again, for a gone block, or for success. */
        ASSERT_EQ(retry_write_delay_usec(-EINVAL, 0), 0);
        ASSERT_EQ(retry_write_delay_usec(-EHWPOISON, 0), 0);
        ASSERT_EQ(retry_write_delay_usec(-ECANCELED, 0), 0);
        ASSERT_EQ(retry_write_delay_usec(-ENOENT, 0), 0);
        ASSERT_EQ(retry_write_delay_usec(-ENODEV, 1), 0);
        ASSERT_EQ(retry_write_delay_usec(0, 0), 0);
        ASSERT_EQ(retry_write_delay_usec(1, 0), 0);
}

TEST(node_link_poll)
{
        uint64_t total = 0;
        unsigned n = 0;

        ASSERT_EQ(retry_node_link_delay_usec(0), 0);
        ASSERT_EQ(retry_node_link_delay_usec(1), 1 * USEC_PER_MSEC);
        ASSERT_EQ(retry_node_link_delay_usec(2), 2 * USEC_PER_MSEC);
        ASSERT_EQ(retry_node_link_delay_usec(3), 4 * USEC_PER_MSEC);
        ASSERT_EQ(retry_node_link_delay_usec(4), 8 * USEC_PER_MSEC);
        /* Then a flat 10 ms: a doubling backoff overshoots the kernel's link creation. */
        for (unsigned i = 5; i <= RETRY_NODE_LINK_TRIES; i++)
                ASSERT_EQ(retry_node_link_delay_usec(i), 10 * USEC_PER_MSEC);
        ASSERT_EQ(retry_node_link_delay_usec(RETRY_NODE_LINK_TRIES + 1), 0);
        ASSERT_EQ(retry_node_link_delay_usec(UINT32_MAX), 0);

        /* The whole wait is about a second: 15 ms of doubling plus 100 polls of 10 ms. */
        for (unsigned i = 1; retry_node_link_delay_usec(i) > 0; i++, n++)
                total += retry_node_link_delay_usec(i);
        ASSERT_EQ(n, RETRY_NODE_LINK_TRIES);
        ASSERT_EQ(total, 1015 * USEC_PER_MSEC);
        /* BlockEntry.attempts is a uint8_t. */
        ASSERT_TRUE(RETRY_NODE_LINK_TRIES < 255 && RETRY_WRITE_MAX < 255);
}
