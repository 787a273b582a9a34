/* main.c - build/grader: the workbook's harness. One row of the command
 * table per command; each command lives in its own file.
 */
#define _GNU_SOURCE
#include "gr.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct command {
  const char *name;
  int (*run)(gr_workbook_t *wb, int argc, char **argv);
  const char *usage;
} commands[] = {
    {"list", gr_cmd_list, "list                  every exercise in order, with its status"},
    {"check", gr_cmd_check, "check [EXERCISE...] [--timeline]\n"
                            "                        build and test your exercises; shows what to do next;\n"
                            "                        --timeline: a picture of each test's loop (build/timeline/)"},
    {"watch", gr_cmd_watch, "watch [EXERCISE]      re-check an exercise each time you save it"},
    {"hint", gr_cmd_hint, "hint EXERCISE         the next hint for an exercise"},
    {"reset", gr_cmd_reset, "reset EXERCISE        restore the exercise's starting file (yours is backed up)"},
    {"grade", gr_cmd_grade, "grade DIR [--format text|json|gradescope|junit|tap] [--out FILE]\n"
                            "                        [--hidden DIR [--hidden-visibility V]] [--assignment FILE] [--no-sanitize] [--no-cache] [-j N]\n"
                            "                        grade one submission"},
    {"batch", gr_cmd_batch, "batch DIR [-j N] [--db FILE] [--shard I/N] [--assignment FILE] [--hidden DIR]\n"
                            "                        grade every submission folder under DIR into a gradebook (resumable)"},
    {"export", gr_cmd_export, "export [--db FILE] [--csv] [--out FILE] [--force] [--feedback DIR] [--similarity]\n"
                              "                        the gradebook as CSV for an LMS (a state per exercise, the student id);\n"
                              "                        --feedback DIR: one readable feedback file per student"},
    {"report", gr_cmd_report, "report [--db FILE] STUDENT [--format text|json|gradescope|junit|tap] [--out FILE]\n"
                              "                        one student's stored report, in any format"},
    {"summary", gr_cmd_summary, "summary [--db FILE] [--html FILE] [--similarity [--min-share P] [--class DIR]]\n"
                                "                        the class at a glance: scores, exercises, tests, who to look at;\n"
                                "                        --html: one self-contained page; --similarity: flag near-identical pairs (sim_c)"},
    {"merge", gr_cmd_merge, "merge --db INTO.db [--force] SHARD.db...   join the gradebooks of shards (same tests only, unless --force)"},
    {"verify", gr_cmd_verify, "verify [--no-sanitize] [--hidden DIR] [--only NN]   the workbook checks itself (authors): solutions, mutants, stubs, lessons"},
    {"ship-impl", gr_cmd_ship_impl, "ship-impl OUTDIR [EXERCISE...]   (make handout) the references of exercises whose learner writes\n"
                                    "                        the tests, compiled into OUTDIR/impl/ID/ (no source)"},
    {"examples", gr_cmd_examples, "examples              run every chapter program and check what it measures"},
    {"timeline", gr_cmd_timeline, "timeline TRACE.json [-o PICTURE.svg] [--span MS] [--block MS]\n"
                                  "                        draw a trace (PROGRAM --trace TRACE.json) as an SVG timeline"},
    {"pictures", gr_cmd_pictures, "pictures [CHAPTER...] | pictures --check [CHAPTER]\n"
                                  "                        remake the lessons' timelines (chapters/*/img/) from real runs;\n"
                                  "                        --check: only check that their programs still draw them"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: grader COMMAND [ARGS]\n\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  grader %s\n", commands[i].usage);
  fprintf(f, "\nEXERCISE is a name such as 02-basic-patterns/01-async-sleep, "
             "01-async-sleep, or a path to the exercise or its file.\n");
}

int main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
      !strcmp(argv[1], "-h")) {
    usage(stdout);
    return argc < 2 ? 2 : 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    if (strcmp(commands[i].name, argv[1]) != 0)
      continue;
    gr_workbook_t wb;
    if (gr_workbook_load(&wb, argv[0]) < 0)
      return 70;
    /* grade and batch apply it themselves, after any hidden tests */
    if (wb.assignment_file[0] && strcmp(argv[1], "grade") && strcmp(argv[1], "batch") &&
        gr_assignment_apply(&wb, wb.assignment_file) < 0)
      return 2;
    return commands[i].run(&wb, argc - 2, argv + 2);
  }
  fprintf(stderr, "grader: unknown command \"%s\"\n\n", argv[1]);
  usage(stderr);
  return 2;
}
