#!/usr/bin/perl
# png-pixels.pl - what a screenshot shows, for the end-to-end tests: reads
# an 8-bit RGB or RGBA PNG (what Chromium writes) and prints its size, how
# many pixels are not white, how many colours it has, and the colour at
# each X,Y given.
#   perl tests/png-pixels.pl FILE.png [X,Y ...]
#   size 960x344
#   inked 12034
#   colours 57
#   at 400,162 b9d3ef
use strict;
use warnings;
use Compress::Zlib;

my ($file, @points) = @ARGV;
open(my $fh, '<:raw', $file) or die "png-pixels: cannot open $file: $!\n";
local $/;
my $png = <$fh>;
close $fh;
substr($png, 0, 8) eq "\x89PNG\r\n\x1a\n" or die "png-pixels: $file is not a PNG\n";
my ($w, $h, $depth, $type, $idat) = (0, 0, 0, 0, '');
for (my $at = 8; $at + 8 <= length $png;) {
  my ($len, $name) = unpack('N a4', substr($png, $at, 8));
  my $data = substr($png, $at + 8, $len);
  $at += 12 + $len;
  if ($name eq 'IHDR') {
    ($w, $h, $depth, $type) = unpack('N N C C', $data);
  } elsif ($name eq 'IDAT') {
    $idat .= $data;
  } elsif ($name eq 'IEND') {
    last;
  }
}
$depth == 8 && ($type == 2 || $type == 6)
  or die "png-pixels: $file is not 8-bit RGB or RGBA (depth $depth, type $type)\n";
my $bpp = $type == 6 ? 4 : 3;
my $raw = uncompress($idat);
defined $raw or die "png-pixels: $file: its image data does not inflate\n";
my $stride = $w * $bpp;
my @prev = (0) x $stride;
my @rows;
for my $y (0 .. $h - 1) {
  my $off = $y * ($stride + 1);
  my $filter = ord(substr($raw, $off, 1));
  my @cur = unpack('C*', substr($raw, $off + 1, $stride));
  for my $i (0 .. $stride - 1) {
    my $a = $i >= $bpp ? $cur[$i - $bpp] : 0;
    my $b = $prev[$i];
    my $c = $i >= $bpp ? $prev[$i - $bpp] : 0;
    my $p;
    if ($filter == 0) { $p = 0 }
    elsif ($filter == 1) { $p = $a }
    elsif ($filter == 2) { $p = $b }
    elsif ($filter == 3) { $p = int(($a + $b) / 2) }
    else {
      my $pa = abs($b - $c);
      my $pb = abs($a - $c);
      my $pc = abs($a + $b - 2 * $c);
      $p = ($pa <= $pb && $pa <= $pc) ? $a : ($pb <= $pc) ? $b : $c;
    }
    $cur[$i] = ($cur[$i] + $p) & 255;
  }
  push @rows, pack('C*', @cur);
  @prev = @cur;
}
my ($inked, %colours) = (0);
for my $row (@rows) {
  for (my $i = 0; $i < $stride; $i += $bpp) {
    my $rgb = substr($row, $i, 3);
    $colours{$rgb}++;
    $inked++ if $rgb ne "\xff\xff\xff";
  }
}
print "size ${w}x$h\n";
print "inked $inked\n";
print "colours " . scalar(keys %colours) . "\n";
for my $pt (@points) {
  my ($x, $y) = map { int } split /,/, $pt;
  my $rgb = ($x >= 0 && $y >= 0 && $x < $w && $y < $h)
    ? unpack('H6', substr($rows[$y], $x * $bpp, 3)) : 'outside';
  print "at $x,$y $rgb\n";
}
