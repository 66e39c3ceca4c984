# Turns a text file into a C array: cmake -DIN=file -DOUT=file.c -P embed.cmake
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE ${OUT} "/* Generated from config/default.yml; do not edit. */\n#include <stddef.h>\n"
     "const char proctrack_default_config[] = {${body} 0x00};\n"
     "const size_t proctrack_default_config_len = sizeof(proctrack_default_config) - 1;\n")
