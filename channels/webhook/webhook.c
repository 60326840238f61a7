/* webhook adapter (work in progress). */
#include <herald/channel.h>
const struct hd_channel *hd_channel_webhook(void);
const struct hd_channel *hd_channel_webhook(void)
{
    return 0;
}
