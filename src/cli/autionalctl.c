/* autionalctl.c: the operator's command line: global options and the command table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "../core/log.h"

/* Every command; a name of two words ("token issue") is typed as two words. */
static const struct ctl_command *const commands[] = {
	&ctl_cmd_migrate,
	&ctl_cmd_tenant_create,
	&ctl_cmd_tenant_list,
	&ctl_cmd_tenant_show,
	&ctl_cmd_tenant_update,
	&ctl_cmd_tenant_delete,
	&ctl_cmd_user_create,
	&ctl_cmd_user_list,
	&ctl_cmd_user_show,
	&ctl_cmd_user_update,
	&ctl_cmd_user_delete,
	&ctl_cmd_client_create,
	&ctl_cmd_client_list,
	&ctl_cmd_client_show,
	&ctl_cmd_client_update,
	&ctl_cmd_client_delete,
	&ctl_cmd_token_issue,
	&ctl_cmd_token_list,
	&ctl_cmd_token_show,
	&ctl_cmd_token_revoke,
	&ctl_cmd_purge,
	&ctl_cmd_sweep,
	&ctl_cmd_audit,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *out)
{
	fputs("usage: autionalctl [--config FILE] [--json] COMMAND [OPTIONS]\n"
	    "\nCommands:\n", out);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %s %s\n", commands[i]->name, commands[i]->synopsis);
	fputs("\nOptions (also accepted after the command):\n"
	    "  -c, --config FILE  configuration file (default: $AUTIONAL_CONFIG, else\n"
	    "                     " SYSCONFDIR "/autional/autional.conf)\n"
	    "  --json             print the result as one JSON value\n"
	    "  -h, --help         this text; 'autionalctl COMMAND --help' for a command\n"
	    "\nExit status: 0 on success, 1 on a failure, 2 on a usage error.\n"
	    "See autionalctl(8).\n", out);
}

/* The command named by words[0] (and words[1]); *used: how many words it took.
 * *group: whether words[0] is the first word of some command. */
static const struct ctl_command *
find_command(int nwords, char **words, int *used, bool *group)
{
	*group = false;
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const char *name = commands[i]->name, *space = strchr(name, ' ');
		size_t first = space ? (size_t)(space - name) : strlen(name);

		if (strlen(words[0]) != first || strncmp(words[0], name, first) != 0)
			continue;
		*group = true;
		if (space == NULL) {
			*used = 1;
			return commands[i];
		}
		if (nwords >= 2 && strcmp(words[1], space + 1) == 0) {
			*used = 2;
			return commands[i];
		}
	}
	return NULL;
}

/* "issue, revoke": the second words of the commands that start with word. */
static void
subcommands(const char *word, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const char *name = commands[i]->name, *space = strchr(name, ' ');
		if (space == NULL || strlen(word) != (size_t)(space - name) ||
		    strncmp(word, name, (size_t)(space - name)) != 0)
			continue;
		int w = snprintf(out + n, size - n, "%s%s", n ? ", " : "", space + 1);
		if (w < 0 || (size_t)w >= size - n)
			return;
		n += (size_t)w;
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl ctl;
	char verbs[256];
	bool group;
	int c, used = 0;

	memset(&ctl, 0, sizeof(ctl));
	log_set_program("autionalctl");
	opterr = 0;
	/* "+": stop at the command; its options are parsed by the command. */
	while ((c = getopt_long(argc, argv, "+:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': ctl.config_path = optarg; break;
		case 'j': ctl.json = true; break;
		case 'h': usage(stdout); return CTL_EXIT_OK;
		case ':': return ctl_usage(NULL, "option '%s' needs a value", argv[optind - 1]);
		default: return ctl_usage(NULL, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return ctl_usage(NULL, "missing command");
	ctl.cmd = find_command(argc - optind, argv + optind, &used, &group);
	if (ctl.cmd == NULL) {
		if (!group)
			return ctl_usage(NULL, "unknown command '%s'", argv[optind]);
		if (optind + 1 < argc && (strcmp(argv[optind + 1], "--help") == 0 ||
		    strcmp(argv[optind + 1], "-h") == 0)) {
			usage(stdout);
			return CTL_EXIT_OK;
		}
		subcommands(argv[optind], verbs, sizeof(verbs));
		if (optind + 1 < argc)
			return ctl_usage(NULL, "unknown command '%s %s' (%s takes: %s)",
			    argv[optind], argv[optind + 1], argv[optind], verbs);
		return ctl_usage(NULL, "'%s' needs a subcommand: %s", argv[optind], verbs);
	}
	/* argv[0] of the command is its last word. */
	c = ctl.cmd->run(&ctl, argc - optind - used + 1, argv + optind + used - 1);
	ctl_close(&ctl);
	/* Output that was not written (a full disk, a closed pipe) is a failure,
	 * whichever command printed it. */
	if ((fflush(stdout) != 0 || ferror(stdout)) && c == CTL_EXIT_OK)
		c = ctl_fail(&ctl, "cannot print the result");
	return c;
}
