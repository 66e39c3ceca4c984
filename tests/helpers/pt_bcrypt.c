/* Prints the bcrypt hash of a password, as `htpasswd -nbB` would, for the web config tests:
 *     pt_bcrypt PASSWORD [COST]
 * The salt comes from the kernel through libcrypt; the cost defaults to 10, as in htpasswd. */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s PASSWORD [COST]\n", argv[0]);
        return 2;
    }
    unsigned long cost = argc == 3 ? strtoul(argv[2], NULL, 10) : 10;
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    static struct crypt_data data;
    if (!crypt_gensalt_rn("$2b$", cost, NULL, 0, salt, sizeof(salt))) {
        perror("crypt_gensalt_rn");
        return 1;
    }
    const char *hash = crypt_rn(argv[1], salt, &data, sizeof(data));
    if (!hash) {
        perror("crypt_rn");
        return 1;
    }
    puts(hash);
    return 0;
}
